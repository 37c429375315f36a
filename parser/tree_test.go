package parser_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/corvid-io/corvid/internal/valuegen"
	"github.com/corvid-io/corvid/parser"
)

type treeFile struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

type treeBox struct {
	treeFile
	*treeMeta
	Files   []treeFile          `json:"files"`
	ByName  map[string][]byte   `json:"byName,omitempty"`
	Skip    []byte              `json:"-"`
	Empty   []byte              `json:"empty,omitempty"`
	Nil     *treeFile           `json:"nil"`
	Digest  [2]byte             `json:"digest"`
	Deep    map[int][]*treeFile `json:"deep"`
	Opaque  valuegen.Opaque     `json:"opaque"`
	private []byte
}

type treeMeta struct {
	Thumb []byte `json:"thumb"`
}

// TestTree checks what Tree makes of the shapes binary hides in: a []byte in
// a struct field, an embedded struct (by value and through a pointer), a typed
// slice and map, behind pointers, at depth, and what stays non-binary.
func TestTree(t *testing.T) {
	a, b, c, d := []byte{1}, []byte{2, 2}, []byte{3}, []byte{4}
	box := &treeBox{
		treeFile: treeFile{Name: "n", Data: a},
		treeMeta: &treeMeta{Thumb: b},
		Files:    []treeFile{{Name: "f", Data: c}},
		ByName:   map[string][]byte{"k": d},
		Skip:     []byte{9}, private: []byte{9},
		Digest: [2]byte{7, 8},
		Deep:   map[int][]*treeFile{3: {nil, {Name: "deep", Data: []byte{5}}}},
		Opaque: valuegen.Opaque{B: []byte{6}},
	}
	got, err := parser.Tree(box)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "n", "data": a, "thumb": b,
		"files":  []any{map[string]any{"name": "f", "data": c}},
		"byName": map[string]any{"k": d},
		"nil":    nil,
		"digest": []any{7.0, 8.0},
		"deep":   map[string]any{"3": []any{nil, map[string]any{"name": "deep", "data": []byte{5}}}},
		"opaque": map[string]any{"opaque": "Bg=="},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Tree(box) = %#v\nwant %#v", got, want)
	}
	// The attachments are the caller's slices.
	if m := got.(map[string]any); &m["data"].([]byte)[0] != &a[0] {
		t.Error("Tree copied a []byte")
	}

	for _, tc := range []struct {
		name string
		v    any
		want any
	}{
		{"nil pointer", (*treeFile)(nil), nil},
		{"nil slice", []byte(nil), nil},
		{"nil map", map[string]any(nil), nil},
		{"named bytes", valuegen.Bytes{1}, []byte{1}},
		{"typed slice of bytes", [][]byte{{1}, nil}, []any{[]byte{1}, nil}},
		{"float32", float32(0.1), 0.1},
		{"raw message", json.RawMessage(` { "a" : [1, 2] } `), map[string]any{"a": []any{1.0, 2.0}}},
		{"tree in a tree", []any{map[string]any{"f": treeFile{Data: d}}}, []any{map[string]any{"f": map[string]any{"name": "", "data": d}}}},
	} {
		got, err := parser.Tree(tc.v)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Tree = %#v, want %#v", tc.name, got, tc.want)
		}
	}

	// A received value gives its tree.
	msgs, err := parser.JSON.Encode(&parser.Packet{Type: parser.Event, Event: "x", Args: []any{box}})
	if err != nil {
		t.Fatal(err)
	}
	dec := parser.JSON.NewDecoder()
	var p *parser.Packet
	for _, m := range msgs {
		if p, err = dec.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := parser.Tree(p.Args[0]); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Tree(received) = %#v, %v", got, err)
	}

	// A cyclic value fails as encoding it does.
	cyc := map[string]any{}
	cyc["self"] = cyc
	if _, err := parser.Tree(cyc); err == nil {
		t.Error("Tree of a cyclic map succeeded")
	}
}

// TestTreeIsPlain checks that a plain tree is returned as it is, without
// allocating: the adapters call Tree on every argument they publish.
func TestTreeIsPlain(t *testing.T) {
	v := map[string]any{"a": []any{1, "x", 2.5, true, nil, []byte{1}}, "b": int64(3)}
	allocs := testing.AllocsPerRun(100, func() {
		got, err := parser.Tree(v)
		if err != nil || reflect.ValueOf(got).Pointer() != reflect.ValueOf(v).Pointer() {
			t.Fatal("plain tree not returned as it is")
		}
	})
	if allocs != 0 {
		t.Errorf("Tree of a plain tree: %v allocations", allocs)
	}
}

// treeCases is the number of generated values of TestTreeProperty
// (CORVID_LONG=1: more).
// bigJSON decodes as many attachments as a generated value holds.
var bigJSON = parser.NewJSON(&parser.JSONOptions{MaxAttachments: 1 << 20})

func treeCases() int {
	if os.Getenv("CORVID_LONG") != "" {
		return 20000
	}
	return 2000
}

// TestTreeProperty checks, on generated values, that a value and its Tree
// are received the same: what the JSON parser writes of them decodes to the
// same value, and so does what the msgpack parser writes.
func TestTreeProperty(t *testing.T) {
	g := valuegen.New(1)
	for i := range treeCases() {
		v := g.Value()
		tree, err := parser.Tree(v)
		if err != nil {
			t.Fatalf("case %d: Tree(%#v): %v", i, v, err)
		}
		want, err := received(bigJSON, v)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		got, err := received(bigJSON, tree)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: JSON: the value and its tree differ at %s", i, firstDiff(want, got, "$"))
		}
		want, err = received(parser.Msgpack(), v)
		if err != nil {
			t.Fatalf("case %d: msgpack: %v", i, err)
		}
		got, err = received(parser.Msgpack(), tree)
		if err != nil {
			t.Fatalf("case %d: msgpack: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("case %d: msgpack: the value and its tree differ at %s", i, firstDiff(want, got, "$"))
		}

	}
}

// received encodes v as the argument of an event with p and returns what the
// receiving end decodes it to, into an any.
func received(p parser.Parser, v any) (any, error) {
	msgs, err := p.Encode(&parser.Packet{Type: parser.Event, Event: "e", Args: []any{v}})
	if err != nil {
		return nil, err
	}
	d := p.NewDecoder()
	var pk *parser.Packet
	for _, m := range msgs {
		if pk, err = d.Add(m); err != nil {
			return nil, err
		}
	}
	var out any
	err = pk.Args[0].(parser.Value).Decode(&out)
	return out, err
}

// firstDiff describes where two decoded trees first differ.
func firstDiff(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return fmt.Sprintf("%s.%s: only in the second", path, k)
			}
		}
		for k, e := range x {
			if _, ok := y[k]; !ok {
				return fmt.Sprintf("%s.%s: only in the first", path, k)
			}
			if d := firstDiff(e, y[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			break
		}
		for i := range x {
			if d := firstDiff(x[i], y[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	return fmt.Sprintf("%s: %.200v (%[2]T) != %.200v (%[3]T)", path, a, b)
}

// BenchmarkTree converts a plain tree (returned as it is) and a struct with
// binary (encoded, then parsed into a tree).
func BenchmarkTree(b *testing.B) {
	type file struct {
		Name string `json:"name"`
		Size int    `json:"size"`
		Data []byte `json:"data"`
	}
	for _, c := range []struct {
		name string
		v    any
	}{
		{"Plain", map[string]any{"a": 1.5, "b": []any{"x", true}, "c": []byte{1}}},
		{"Struct", file{Name: "a.bin", Size: 1024, Data: make([]byte, 1024)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.Tree(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
