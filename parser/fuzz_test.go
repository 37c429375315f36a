package parser_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/corvid-io/corvid/internal/valuegen"
	"github.com/corvid-io/corvid/parser"
)

// FuzzJSONDecode feeds a text message, then up to three binary ones, to a
// decoder. It must never panic; a decoded packet must re-encode, decode again
// and re-encode to the same bytes, and its values must decode into *any.
// The shared fuzz targets live in fuzz/; this one stays with the codec.
func FuzzJSONDecode(f *testing.F) {
	for _, tc := range encodeCases {
		msgs, err := parser.JSON.Encode(&tc.p)
		if err != nil {
			f.Fatal(err)
		}
		var att []byte
		if len(msgs) > 1 {
			att = msgs[1].Data
		}
		f.Add(msgs[0].Data, uint8(len(msgs)-1), att)
	}
	f.Add([]byte(`51-["x",{"_placeholder":true,"num":0}]`), uint8(1), []byte{1})
	f.Add([]byte(`2/a,1["x",{"a":[1,"\u00e9",null,true]}]`), uint8(0), []byte(nil))
	f.Fuzz(func(t *testing.T, text []byte, nBin uint8, att []byte) {
		d := parser.NewJSON(&parser.JSONOptions{MaxAttachments: 3}).NewDecoder()
		p, err := d.Add(parser.Message{Data: text})
		for i := 0; err == nil && p == nil && i < int(nBin%4); i++ {
			p, err = d.Add(parser.Message{Binary: true, Data: att})
		}
		if err != nil || p == nil {
			return
		}
		for _, a := range p.Args {
			var v any
			if err := a.(parser.Value).Decode(&v); err != nil {
				t.Fatalf("Decode(&any) of %q: %v", text, err)
			}
			// Without binary, the result is encoding/json's (where it succeeds:
			// it refuses numbers beyond float64, which JSON.parse makes Infinity).
			raw := a.(interface{ Raw() []byte }).Raw()
			var std any
			if !bytes.Contains(raw, []byte("_placeholder")) && json.Unmarshal(raw, &std) == nil && !reflect.DeepEqual(v, std) {
				t.Fatalf("Decode(&any) of %s = %#v, encoding/json %#v", raw, v, std)
			}
		}
		if p.Data != nil {
			var v any
			if err := p.Data.(parser.Value).Decode(&v); err != nil {
				t.Fatalf("Decode(&any) of data of %q: %v", text, err)
			}
		}
		first, err := parser.JSON.Encode(p)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", text, err)
		}
		d2 := parser.NewJSON(&parser.JSONOptions{MaxAttachments: 3}).NewDecoder()
		var q *parser.Packet
		for _, m := range first {
			if q, err = d2.Add(m); err != nil {
				t.Fatalf("decoding our %q (from %q): %v", first[0].Data, text, err)
			}
		}
		if q == nil {
			t.Fatalf("our %q did not complete", first[0].Data)
		}
		second, err := parser.JSON.Encode(q)
		if err != nil || len(second) != len(first) {
			t.Fatalf("second encoding of %q: %v", text, err)
		}
		for i := range first {
			if !bytes.Equal(first[i].Data, second[i].Data) {
				t.Fatalf("unstable: %q then %q", first[i].Data, second[i].Data)
			}
		}
	})
}

// FuzzTree generates a value from the seed (valuegen) and checks that the
// value and its Tree are received the same through the JSON and the msgpack
// parser.
func FuzzTree(f *testing.F) {
	for _, seed := range []uint64{0, 1, 16, 1 << 40} {
		f.Add(seed, uint8(4))
	}
	f.Fuzz(func(t *testing.T, seed uint64, depth uint8) {
		g := valuegen.New(seed)
		g.MaxDepth = int(depth % 7)
		v := g.Value()
		tree, err := parser.Tree(v)
		if err != nil {
			t.Fatalf("Tree: %v", err)
		}
		for _, p := range []parser.Parser{bigJSON, parser.Msgpack()} {
			want, err := received(p, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := received(p, tree)
			if err != nil {
				t.Fatal(err)
			}
			if d := firstDiff(want, got, "$"); d != "" {
				t.Fatalf("the value and its tree differ at %s", d)
			}
		}
	})
}
