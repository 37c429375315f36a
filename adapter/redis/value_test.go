package redis

import (
	"errors"
	"reflect"
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// TestTreeValueDecodesLikeJSONValue checks that a value received from another
// server decodes into typed targets as the same value received from a client
// does: binary inside an interface of a struct stays []byte, a []byte field
// gets the bytes.
func TestTreeValueDecodesLikeJSONValue(t *testing.T) {
	type target struct {
		Name string         `json:"name"`
		Data []byte         `json:"data"`
		Any  any            `json:"any"`
		Map  map[string]any `json:"map"`
	}
	tree := map[string]any{"name": "n", "data": []byte{1, 2}, "any": []any{[]byte{3}, 1.5},
		"map": map[string]any{"b": []byte{4}}}

	// The same value as a client's Value.
	msgs, err := parser.JSON.Encode(&parser.Packet{Type: parser.Event, Event: "e", Args: []any{tree}})
	if err != nil {
		t.Fatal(err)
	}
	d := parser.JSON.NewDecoder()
	var p *parser.Packet
	for _, m := range msgs {
		if p, err = d.Add(m); err != nil {
			t.Fatal(err)
		}
	}
	var want target
	if err := p.Args[0].(parser.Value).Decode(&want); err != nil {
		t.Fatal(err)
	}
	if _, ok := want.Any.([]any)[0].([]byte); !ok {
		t.Fatalf("the client's value gave %#v", want.Any)
	}

	var got target
	if err := (treeValue{tree}).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("treeValue decoded %#v\nthe client's value %#v", got, want)
	}

	// Without binary, and into *any, as before.
	var s struct{ A []any }
	if err := (treeValue{map[string]any{"A": []any{"x", 2.0}}}).Decode(&s); err != nil || !reflect.DeepEqual(s.A, []any{"x", 2.0}) {
		t.Fatalf("plain: %#v, %v", s, err)
	}
	var a any
	if err := (treeValue{tree}).Decode(&a); err != nil || !reflect.DeepEqual(a, tree) {
		t.Fatalf("into *any: %#v, %v", a, err)
	}
}

type failingValue struct{}

func (failingValue) Decode(any) error { return errors.New("cannot decode") }

// TestUnencodableFailsPublish checks that an argument that cannot be encoded
// makes the message to the other servers fail, in msgpack and in JSON, instead
// of publishing something else (it was published as null).
func TestUnencodableFailsPublish(t *testing.T) {
	p := &parser.Packet{Type: parser.Event, Event: "e", Args: []any{"ok", failingValue{}}}
	wp := toWirePacket(p, "/", false)
	if _, err := wire.AppendBroadcast(nil, &wire.Broadcast{UID: "u", Packet: *wp, Opts: *toWireOpts(nil)}); err == nil {
		t.Error("classic broadcast of an undecodable value encoded")
	}
	m := &wire.ClusterMessage{Type: wire.MsgBroadcast, UID: "u", Nsp: "/", Packet: toWirePacket(p, "", true), Opts: toWireOpts(nil)}
	if _, err := wire.AppendClusterMessage(nil, m); err == nil {
		t.Error("sharded broadcast of an undecodable value encoded")
	}
}
