package parser_test

import (
	"strconv"
	"testing"

	"github.com/corvid-io/corvid/parser"
)

func largeArgs() []any {
	items := make([]any, 100)
	for i := range items {
		items[i] = map[string]any{
			"id":     i,
			"name":   "user-" + strconv.Itoa(i),
			"score":  float64(i) * 1.25,
			"active": i%2 == 0,
			"tags":   []any{"a", "b", "c"},
		}
	}
	return []any{map[string]any{"items": items, "total": 100, "cursor": "abcdef"}}
}

var benchPackets = []struct {
	name string
	p    *parser.Packet
}{
	{"EventSmall", &parser.Packet{Type: parser.Event, Event: "message", Args: []any{"hello world", 42, true}}},
	{"EventLarge", &parser.Packet{Type: parser.Event, Namespace: "/chat", Event: "update", Args: largeArgs()}},
	{"EventBinary", &parser.Packet{Type: parser.Event, Event: "file", Args: []any{
		map[string]any{"name": "a.bin", "size": 2048}, make([]byte, 1024), make([]byte, 1024)}}},
	{"Ack", &parser.Packet{Type: parser.Ack, ID: 123, HasID: true, Args: []any{"ok", map[string]any{"status": 200}}}},
}

func BenchmarkAppendPacket(b *testing.B) {
	for _, bp := range benchPackets {
		b.Run(bp.name, func(b *testing.B) {
			buf := make([]byte, 0, 16<<10)
			atts := make([][]byte, 0, 4)
			b.ReportAllocs()
			for b.Loop() {
				out, _, err := parser.AppendPacket(buf[:0], atts[:0], bp.p)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(out)))
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, bp := range benchPackets {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.JSON.Encode(bp.p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode feeds the messages of each packet to a decoder; the
// arguments stay raw (dispatch needs only the event name).
func BenchmarkDecode(b *testing.B) {
	for _, bp := range benchPackets {
		msgs, err := parser.JSON.Encode(bp.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bp.name, func(b *testing.B) {
			d := parser.JSON.NewDecoder()
			b.ReportAllocs()
			b.SetBytes(int64(len(msgs[0].Data)))
			for b.Loop() {
				for _, m := range msgs {
					if _, err := d.Add(m); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkDecodeFull also converts every argument to Go values (Decode into
// *any), which is what a decoder without lazy values always does.
func BenchmarkDecodeFull(b *testing.B) {
	for _, bp := range benchPackets {
		msgs, err := parser.JSON.Encode(bp.p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bp.name, func(b *testing.B) {
			d := parser.JSON.NewDecoder()
			b.ReportAllocs()
			for b.Loop() {
				var p *parser.Packet
				for _, m := range msgs {
					if p, err = d.Add(m); err != nil {
						b.Fatal(err)
					}
				}
				for _, a := range p.Args {
					var v any
					if err := a.(parser.Value).Decode(&v); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

type benchMeta struct {
	ID      int    `json:"id"`
	Created string `json:"created,omitempty"`
}

type benchUser struct {
	benchMeta
	Name   string            `json:"name"`
	Score  float64           `json:"score,string"`
	Active bool              `json:"active"`
	Tags   []string          `json:"tags,omitempty"`
	Extra  map[string]string `json:"extra,omitzero"`
	Skip   int               `json:"-"`
}

// BenchmarkAppendPacketStruct encodes an event whose argument is a struct (the
// reflection path: fields by encoding/json's rules).
func BenchmarkAppendPacketStruct(b *testing.B) {
	p := &parser.Packet{Type: parser.Event, Event: "user", Args: []any{
		benchUser{benchMeta: benchMeta{ID: 7}, Name: "user-7", Score: 8.75, Active: true, Tags: []string{"a", "b"}}}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		out, _, err := parser.AppendPacket(buf[:0], nil, p)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
