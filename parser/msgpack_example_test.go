package parser_test

import (
	"fmt"

	"github.com/corvid-io/corvid/parser"
)

// ExampleMsgpack encodes an EVENT with a binary argument into one binary
// message, decodes it, and decodes an argument into Go values.
func ExampleMsgpack() {
	p := parser.Msgpack()
	msgs, err := p.Encode(&parser.Packet{
		Type:      parser.Event,
		Namespace: "/chat",
		Event:     "message",
		Args:      []any{map[string]any{"text": "hi", "blob": []byte{1, 2}}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d message, binary %v, % x\n", len(msgs), msgs[0].Binary, msgs[0].Data[:6])

	got, err := p.NewDecoder().Add(msgs[0])
	if err != nil {
		panic(err)
	}
	var arg struct {
		Text string `json:"text"`
		Blob []byte `json:"blob"`
	}
	if err := got.Args[0].(parser.Value).Decode(&arg); err != nil {
		panic(err)
	}
	fmt.Println(got.Type, got.Namespace, got.Event, arg.Text, arg.Blob)
	// Output:
	// 1 message, binary true, 83 a4 74 79 70 65
	// EVENT /chat message hi [1 2]
}
