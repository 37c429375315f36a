package msgpack

import (
	"errors"
	"fmt"
	"reflect"
)

// ErrMaxDepth is returned when a value nests deeper than the decoder's MaxDepth
// (or, when encoding, deeper than 1000 levels, which only a cyclic value does).
var ErrMaxDepth = errors.New("msgpack: maximum nesting depth exceeded")

// SyntaxError reports malformed input: a truncated value, an unknown format byte
// (0xc1), a declared length longer than the rest of the input, trailing bytes.
type SyntaxError struct {
	Offset int // byte offset of the problem in the input
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("msgpack: %s at offset %d", e.Msg, e.Offset)
}

// UnsupportedTypeError is returned by the encoder for a Go type it cannot encode
// (channels, functions, complex numbers, maps with keys other than strings and
// integers).
type UnsupportedTypeError struct {
	Type reflect.Type
}

func (e *UnsupportedTypeError) Error() string {
	return "msgpack: unsupported type " + e.Type.String()
}

// UnmarshalTypeError is returned when a msgpack value cannot be stored in the Go
// value it is decoded into (a string into an int, a number that overflows).
type UnmarshalTypeError struct {
	Value  string       // the msgpack family: "string", "number", "array", ...
	Type   reflect.Type // the Go type it could not be stored in (nil from a Reader)
	Offset int          // byte offset of the value in the input
}

func (e *UnmarshalTypeError) Error() string {
	if e.Type == nil { // from a Reader: the expected kind is in Value
		return fmt.Sprintf("msgpack: %s (offset %d)", e.Value, e.Offset)
	}
	return fmt.Sprintf("msgpack: cannot decode %s into Go value of type %s (offset %d)", e.Value, e.Type, e.Offset)
}

// InvalidUnmarshalError is returned when the target of a decode is not a non-nil
// pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "msgpack: Unmarshal(nil)"
	}
	return "msgpack: Unmarshal(non-pointer or nil " + e.Type.String() + ")"
}
