package parser

import (
	"strconv"
	"testing"

	"github.com/corvid-io/corvid/parser"
	zparser "github.com/zishang520/socket.io/parsers/socket/v3/parser"
)

// The same four packets as in corvid's parser benchmarks: a small event, an
// event with ~7 KB of JSON, an event with two 1 KB binary attachments, and an
// ack.

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

type pair struct {
	name   string
	ours   *parser.Packet
	theirs *zparser.Packet
}

func pairs() []pair {
	id := uint64(123)
	event := func(nsp, name string, args []any) pair {
		return pair{
			ours:   &parser.Packet{Type: parser.Event, Namespace: nsp, Event: name, Args: args},
			theirs: &zparser.Packet{Type: zparser.EVENT, Nsp: nsp, Data: append([]any{name}, args...)},
		}
	}
	small := event("/", "message", []any{"hello world", 42, true})
	small.name = "EventSmall"
	large := event("/chat", "update", largeArgs())
	large.name = "EventLarge"
	binary := event("/", "file", []any{map[string]any{"name": "a.bin", "size": 2048}, make([]byte, 1024), make([]byte, 1024)})
	binary.name = "EventBinary"
	ackArgs := []any{"ok", map[string]any{"status": 200}}
	ack := pair{
		name:   "Ack",
		ours:   &parser.Packet{Type: parser.Ack, ID: id, HasID: true, Args: ackArgs},
		theirs: &zparser.Packet{Type: zparser.ACK, Nsp: "/", Id: &id, Data: ackArgs},
	}
	return []pair{small, large, binary, ack}
}

// TestSameWire checks that both codecs put the same bytes on the wire for the
// benchmarked packets, so that the benchmarks compare equal work.
func TestSameWire(t *testing.T) {
	enc := zparser.NewEncoder()
	for _, p := range pairs() {
		ours, err := parser.JSON.Encode(p.ours)
		if err != nil {
			t.Fatal(err)
		}
		theirs := enc.Encode(p.theirs)
		if len(ours) != len(theirs) {
			t.Fatalf("%s: %d messages, theirs %d", p.name, len(ours), len(theirs))
		}
		for i := range ours {
			if string(ours[i].Data) != string(theirs[i].Bytes()) {
				t.Errorf("%s message %d:\n ours   %.200s\n theirs %.200s", p.name, i, ours[i].Data, theirs[i].Bytes())
			}
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	enc := zparser.NewEncoder()
	for _, p := range pairs() {
		b.Run(p.name+"/corvid", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.JSON.Encode(p.ours); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.name+"/corvid-append", func(b *testing.B) {
			buf := make([]byte, 0, 16<<10)
			atts := make([][]byte, 0, 4)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := parser.AppendPacket(buf[:0], atts[:0], p.ours); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.name+"/zishang520", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out := enc.Encode(p.theirs); len(out) == 0 {
					b.Fatal("no output")
				}
			}
		})
	}
}

// BenchmarkDecode decodes the wire messages of each packet. zishang520
// converts the whole payload into Go values; "corvid" keeps the arguments raw
// (what dispatch needs) and "corvid-full" also decodes every argument into
// *any, which is the same work as zishang520's.
func BenchmarkDecode(b *testing.B) {
	for _, p := range pairs() {
		msgs, err := parser.JSON.Encode(p.ours)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(p.name+"/corvid", func(b *testing.B) {
			d := parser.JSON.NewDecoder()
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range msgs {
					if _, err := d.Add(m); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(p.name+"/corvid-full", func(b *testing.B) {
			d := parser.JSON.NewDecoder()
			b.ReportAllocs()
			for b.Loop() {
				var pk *parser.Packet
				for _, m := range msgs {
					if pk, err = d.Add(m); err != nil {
						b.Fatal(err)
					}
				}
				for _, a := range pk.Args {
					var v any
					if err := a.(parser.Value).Decode(&v); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(p.name+"/zishang520", func(b *testing.B) {
			d := zparser.NewDecoder()
			var got *zparser.Packet
			d.On("decoded", func(args ...any) { got = args[0].(*zparser.Packet) })
			text := string(msgs[0].Data)
			b.ReportAllocs()
			for b.Loop() {
				got = nil
				if err := d.Add(text); err != nil {
					b.Fatal(err)
				}
				for _, m := range msgs[1:] {
					if err := d.Add(m.Data); err != nil {
						b.Fatal(err)
					}
				}
				if got == nil {
					b.Fatal("no packet")
				}
			}
		})
	}
}
