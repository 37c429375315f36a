package redis

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/corvid-io/corvid/parser"
)

// treeValue is a value received from another server, already decoded to a Go
// tree (map[string]any, []any, string, float64, bool, nil, []byte). It
// implements parser.Value so that handlers decode it like a value received
// from a client.
type treeValue struct{ v any }

var _ parser.Value = treeValue{}

// Decode stores the value in v as a parser.Value of the JSON parser would:
// directly into *any; otherwise through JSON, and when the value holds binary
// through the JSON parser itself, so that binary reaches an interface inside a
// typed target as []byte (not as base64) and a []byte field as its bytes.
func (t treeValue) Decode(v any) error {
	if p, ok := v.(*any); ok {
		*p = t.v
		return nil
	}
	if b, ok := t.v.([]byte); ok {
		if p, ok := v.(*[]byte); ok {
			*p = append([]byte(nil), b...)
			return nil
		}
	}
	if holdsBinary(t.v, 0) {
		return t.decodeBinary(v)
	}
	raw, err := json.Marshal(t.v)
	if err != nil {
		return fmt.Errorf("redis: decode value: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("redis: decode value: %w", err)
	}
	return nil
}

// treeParser decodes the packets decodeBinary builds: as many attachments as
// the tree holds (it was received whole, its size bounded by the adapter).
var treeParser = parser.NewJSON(&parser.JSONOptions{MaxAttachments: math.MaxInt32})

// decodeBinary decodes through the JSON parser's Value: the tree is encoded as
// the argument of an event and decoded back.
func (t treeValue) decodeBinary(v any) error {
	msgs, err := treeParser.Encode(&parser.Packet{Type: parser.Event, Event: "v", Args: []any{t.v}})
	if err != nil {
		return fmt.Errorf("redis: decode value: %w", err)
	}
	d := treeParser.NewDecoder()
	var p *parser.Packet
	for _, m := range msgs {
		if p, err = d.Add(m); err != nil {
			return fmt.Errorf("redis: decode value: %w", err)
		}
	}
	if p == nil || len(p.Args) != 1 {
		return fmt.Errorf("redis: decode value: the value did not re-decode")
	}
	return p.Args[0].(parser.Value).Decode(v)
}

// holdsBinary reports whether a tree holds a []byte.
func holdsBinary(v any, depth int) bool {
	if depth > 1000 {
		return false
	}
	switch x := v.(type) {
	case []byte:
		return true
	case []any:
		for _, e := range x {
			if holdsBinary(e, depth+1) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if holdsBinary(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// values wraps each element of vs as a parser.Value.
func values(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = treeValue{v}
	}
	return out
}
