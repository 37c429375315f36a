package parser

import (
	"sync"
	"unicode/utf8"
)

// Tree returns the value a peer gets when it decodes v, encoded by the JSON
// parser, into an any: a tree of map[string]any, []any, string, float64, bool,
// nil and []byte, where each []byte is a binary attachment of v (the caller's
// slice, not a copy). A peer receives a tree as it receives v (up to the
// order of object members), so it is the form to hand to anything that
// re-encodes v by other rules (another codec, another process): what it
// carries no longer depends on Go types, struct tags or marshalers.
//
// Every rule of the encoder applies (see Arguments in the package doc): a
// []byte at any depth (in a struct field, a typed slice or map, behind a
// pointer or an interface) stays binary; json.Marshaler output is used as it
// is, so a []byte a MarshalJSON method writes arrives as whatever JSON it
// wrote (base64, for encoding/json), never as binary; a [N]byte array is a
// list of numbers, as in encoding/json; a nil slice, map or pointer is nil;
// numbers become float64, the number a JavaScript peer sees (an integer
// beyond 2^53 loses precision as it does there); objects become maps, so the
// order of a struct's fields is not kept. A received [Value] gives its
// Decode(&any).
//
// The msgpack parser writes Go values by the same rules, so its clients too
// receive a value and its tree alike, except where its msgpack form is not
// its JSON one: a time.Time (a timestamp, which Tree makes the RFC 3339
// string MarshalJSON writes), a field renamed by a `msgpack` tag, a type with
// its own AppendMsgpack.
//
// A v that is already such a tree (with any integer or float64 numbers, and
// valid UTF-8 strings) is returned as it is, without allocating. Tree fails
// where encoding v would.
func Tree(v any) (any, error) {
	if isTree(v, 0) {
		return v, nil
	}
	if x, ok := v.(Value); ok && !isNilPointer(x) {
		var out any
		if err := x.Decode(&out); err != nil {
			return nil, err
		}
		if isTree(out, 0) {
			return out, nil
		}
		v = out // a tree of another parser (a time.Time, an extension...)
	}
	bp := treeBufPool.Get().(*treeBuf)
	text, atts, err := appendValue(bp.text[:0], bp.atts[:0], v, 1)
	var out any
	if err == nil {
		jv := jsonValue{raw: text, atts: atts}
		if len(atts) > 0 {
			jv.flags = valueBinary
		}
		out, _ = jv.parseAny(0) // copies what it keeps of text: strings, numbers
	}
	if cap(text) <= maxPooledTreeText && cap(atts) <= maxPooledTreeAtts {
		clear(atts) // the caller's slices
		bp.text, bp.atts = text[:0], atts[:0]
		treeBufPool.Put(bp)
	}
	return out, err
}

// treeBuf holds the JSON text and attachments of one Tree call, reused:
// texts up to maxPooledTreeText bytes and lists of up to maxPooledTreeAtts
// attachments go back to the pool.
type treeBuf struct {
	text []byte
	atts [][]byte
}

const (
	maxPooledTreeText = 64 << 10
	maxPooledTreeAtts = 64
)

var treeBufPool = sync.Pool{New: func() any { return &treeBuf{text: make([]byte, 0, 512)} }}

// isTree reports whether v is already in the form Tree returns, up to the
// numbers: the encoders write it as the JSON parser would. A nil []byte, []any
// or map is not (the JSON parser writes null, others an empty container).
func isTree(v any, depth int) bool {
	if depth > maxEncodeDepth {
		return false
	}
	switch x := v.(type) {
	case nil, bool, float64, int, int64:
		return true
	case string:
		return utf8.ValidString(x)
	case []byte:
		return x != nil
	case []any:
		if x == nil {
			return false
		}
		for _, e := range x {
			if !isTree(e, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		if x == nil {
			return false
		}
		for k, e := range x {
			if !utf8.ValidString(k) || !isTree(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
