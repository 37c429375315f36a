package parser

import (
	"strings"
	"testing"
)

var mpBenchPackets = map[string]*Packet{
	"EventSmall": {Type: Event, Namespace: "/", Event: "chat", Args: []any{"hello", 42}},
	"EventLarge": {Type: Event, Namespace: "/", Event: "state", Args: []any{map[string]any{
		"users": []any{map[string]any{"id": 1, "name": "ann"}, map[string]any{"id": 2, "name": "bob"}},
		"text":  strings.Repeat("lorem ipsum ", 200),
		"n":     1.5,
	}}},
	"EventBinary": {Type: Event, Namespace: "/", Event: "file", Args: []any{"a.bin", make([]byte, 4096)}},
	"Ack":         {Type: Ack, Namespace: "/", ID: 7, HasID: true, Args: []any{"ok"}},
}

func BenchmarkMsgpackEncode(b *testing.B) {
	for _, name := range []string{"EventSmall", "EventLarge", "EventBinary", "Ack"} {
		p := mpBenchPackets[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Msgpack().Encode(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMsgpackDecode(b *testing.B) {
	for _, name := range []string{"EventSmall", "EventLarge", "EventBinary", "Ack"} {
		msgs, err := Msgpack().Encode(mpBenchPackets[name])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(msgs[0].Data)))
			d := Msgpack().NewDecoder()
			for b.Loop() {
				if _, err := d.Add(msgs[0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMsgpackDecodeArgs includes decoding every argument into *any.
func BenchmarkMsgpackDecodeArgs(b *testing.B) {
	msgs, _ := Msgpack().Encode(mpBenchPackets["EventLarge"])
	b.ReportAllocs()
	d := Msgpack().NewDecoder()
	for b.Loop() {
		p, err := d.Add(msgs[0])
		if err != nil {
			b.Fatal(err)
		}
		for _, a := range p.Args {
			var v any
			if err := a.(Value).Decode(&v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
