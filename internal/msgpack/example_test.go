package msgpack_test

import (
	"fmt"

	"github.com/corvid-io/corvid/internal/msgpack"
)

// ExampleAppend encodes a Redis adapter broadcast the way notepack.io does:
// structs keep their field order, numbers take the smallest format, []byte is bin.
func ExampleAppend() {
	type packet struct {
		Type int    `json:"type"`
		Data []any  `json:"data"`
		Nsp  string `json:"nsp"`
	}
	b, err := msgpack.Append(nil, []any{"uid", packet{2, []any{"hi", 1.0, []byte{7}}, "/"}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	// Output:
	// 92 a3 75 69 64 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a2 68 69 01 c4 01 07 a3 6e 73 70 a1 2f
}

// ExampleUnmarshal decodes into the generic tree (numbers are float64, bin is
// []byte) and into a struct by its json tags.
func ExampleUnmarshal() {
	b, _ := msgpack.Marshal(map[string]any{"rooms": []string{"a"}, "n": 3, "blob": []byte{1}})
	var tree any
	if err := msgpack.Unmarshal(b, &tree); err != nil {
		panic(err)
	}
	fmt.Println(tree)

	var opts struct {
		Rooms []string `json:"rooms"`
		N     int      `json:"n"`
	}
	if err := msgpack.Unmarshal(b, &opts); err != nil {
		panic(err)
	}
	fmt.Println(opts.Rooms, opts.N)
	// Output:
	// map[blob:[1] n:3 rooms:[a]]
	// [a] 3
}

// ExampleReader walks a message and keeps one element as raw bytes.
func ExampleReader() {
	b, _ := msgpack.Marshal([]any{"event", map[string]any{"deep": []any{1, 2}}})
	r := msgpack.NewReader(b, nil)
	n, _ := r.ReadArrayHeader()
	first, _ := r.ReadRaw()
	second, _ := r.ReadRaw()
	var name string
	_ = msgpack.Unmarshal(first, &name)
	fmt.Println(n, name, msgpack.PeekKind(second), len(second))
	// Output:
	// 2 event map 9
}
