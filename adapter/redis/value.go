package redis

import (
	"encoding/json"
	"fmt"

	"github.com/corvid-io/corvid/parser"
)

// treeValue is a value received from another server, already decoded to a Go
// tree (map[string]any, []any, string, float64, bool, nil, []byte). It
// implements parser.Value so that handlers decode it like a value received
// from a client.
type treeValue struct{ v any }

var _ parser.Value = treeValue{}

// Decode stores the value in v: directly into *any, otherwise through JSON
// (binary becomes base64, which decodes back into a []byte field).
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
	raw, err := json.Marshal(t.v)
	if err != nil {
		return fmt.Errorf("redis: decode value: %w", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("redis: decode value: %w", err)
	}
	return nil
}

// values wraps each element of vs as a parser.Value.
func values(vs []any) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = treeValue{v}
	}
	return out
}
