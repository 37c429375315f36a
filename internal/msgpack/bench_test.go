package msgpack

import (
	"strings"
	"testing"
)

var benchValue = map[string]any{
	"id":    12345,
	"name":  "corvid",
	"score": 98.5,
	"tags":  []any{"a", "b", "c"},
	"blob":  make([]byte, 64),
	"nested": map[string]any{
		"ok":   true,
		"list": []any{1, 2, 3, 4, 5},
		"text": strings.Repeat("x", 100),
	},
}

type benchStruct struct {
	Rooms  []string       `json:"rooms"`
	Except []string       `json:"except"`
	Flags  map[string]any `json:"flags"`
	N      int            `json:"n,omitempty"`
}

func BenchmarkAppendGeneric(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 512)
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], benchValue); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppendStruct(b *testing.B) {
	b.ReportAllocs()
	v := benchStruct{Rooms: []string{"room1", "room2"}, Except: []string{}, Flags: map[string]any{}}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalGeneric(b *testing.B) {
	data, _ := Marshal(benchValue)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var v any
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalStruct(b *testing.B) {
	data, _ := Marshal(benchStruct{Rooms: []string{"room1", "room2"}, Except: []string{}, Flags: map[string]any{}})
	b.ReportAllocs()
	for b.Loop() {
		var v benchStruct
		if err := Unmarshal(data, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSkip(b *testing.B) {
	data, _ := Marshal(benchValue)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Skip(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}
