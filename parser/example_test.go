package parser_test

import (
	"fmt"

	"github.com/corvid-io/corvid/parser"
)

// Encode an event with an ack id in a namespace.
func ExampleParser_Encode() {
	msgs, err := parser.JSON.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/chat",
		ID:        7,
		HasID:     true,
		Event:     "message",
		Args:      []any{"hello", map[string]any{"from": "ann", "n": 1}},
	})
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Printf("%s\n", m.Data)
	}
	// Output:
	// 2/chat,7["message","hello",{"from":"ann","n":1}]
}

// []byte anywhere in the arguments becomes a binary attachment: the packet is
// sent as BINARY_EVENT followed by one binary message per attachment.
func ExampleAppendPacket() {
	type upload struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	buf := make([]byte, 0, 256)
	text, atts, err := parser.AppendPacket(buf, nil, &parser.Packet{
		Type:  parser.Event,
		Event: "upload",
		Args:  []any{upload{Name: "a.bin", Data: []byte{1, 2, 3}}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n%v\n", text, atts)
	// Output:
	// 51-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]
	// [[1 2 3]]
}

// Decode a binary event: the decoder returns nil until the attachment has
// arrived; the arguments are decoded on demand.
func ExampleDecoder() {
	dec := parser.JSON.NewDecoder()
	p, err := dec.Add(parser.Message{Data: []byte(`51-["upload",{"name":"a.bin","data":{"_placeholder":true,"num":0}}]`)})
	fmt.Println(p, err)
	p, err = dec.Add(parser.Message{Binary: true, Data: []byte{1, 2, 3}})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Type, p.Event, len(p.Args))

	var file struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	if err := p.Args[0].(parser.Value).Decode(&file); err != nil {
		panic(err)
	}
	fmt.Println(file.Name, file.Data)

	var generic any
	if err := p.Args[0].(parser.Value).Decode(&generic); err != nil {
		panic(err)
	}
	fmt.Printf("%v\n", generic)
	// Output:
	// <nil> <nil>
	// EVENT upload 1
	// a.bin [1 2 3]
	// map[data:[1 2 3] name:a.bin]
}
