package msgpack

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Marshaler is implemented by values that append their own msgpack encoding
// (exactly one msgpack value) to dst.
type Marshaler interface {
	AppendMsgpack(dst []byte) ([]byte, error)
}

// Unmarshaler is implemented by values that decode themselves from the raw bytes
// of one msgpack value. raw is only valid during the call.
type Unmarshaler interface {
	UnmarshalMsgpack(raw []byte) error
}

// lazyValue is a value that is decoded on demand by another codec (for example a
// parser.Value of the JSON parser). The encoder decodes it into an any and
// encodes the result.
type lazyValue interface {
	Decode(v any) error
}

// Raw is one encoded msgpack value. It is appended verbatim by the encoder, and
// decoding into a *Raw stores a copy of the value's bytes.
type Raw []byte

// AppendMsgpack implements Marshaler. An empty Raw encodes as nil.
func (r Raw) AppendMsgpack(dst []byte) ([]byte, error) {
	if len(r) == 0 {
		return append(dst, 0xc0), nil
	}
	return append(dst, r...), nil
}

// UnmarshalMsgpack implements Unmarshaler.
func (r *Raw) UnmarshalMsgpack(raw []byte) error {
	*r = append((*r)[:0], raw...)
	return nil
}

// Ext is an extension value whose type the codec does not interpret (every type
// but the timestamp, -1). It encodes as fixext or ext 8/16/32 by its length.
type Ext struct {
	Type int8
	Data []byte
}

// AppendMsgpack implements Marshaler.
func (e Ext) AppendMsgpack(dst []byte) ([]byte, error) {
	return append(appendExtHeader(dst, len(e.Data), e.Type), e.Data...), nil
}

// Marshal returns the msgpack encoding of v. See Append.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the msgpack encoding of v to dst, choosing the encodings that
// notepack.io 3.0 chooses for the equivalent JavaScript value (see the package
// documentation). On error it returns dst unchanged.
func Append(dst []byte, v any) ([]byte, error) {
	return AppendOptions(dst, v, nil)
}

// EncodeOptions configures an encode. The zero value (and nil) means notepack.io
// 3.0's encodings.
type EncodeOptions struct {
	// Notepack2 selects the encodings of notepack.io 2.2, the codec inside npm
	// socket.io-msgpack-parser 3.0, where they differ from 3.0 for Go values: a
	// time.Time is written as notepack 2's Date (fixext 8 of type 0 holding the
	// signed milliseconds since the epoch), because notepack 2 does not decode
	// the timestamp extension.
	Notepack2 bool
}

// AppendOptions is Append with options (nil means the defaults).
func AppendOptions(dst []byte, v any, opts *EncodeOptions) ([]byte, error) {
	e := encoder{}
	if opts != nil {
		e.notepack2 = opts.Notepack2
	}
	out, err := e.append(dst, v)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// maxEncodeDepth bounds the nesting of encoded Go values so that a cyclic value
// (a map holding itself) fails instead of overflowing the stack.
const maxEncodeDepth = 1000

type encoder struct {
	depth     int
	notepack2 bool
}

func (e *encoder) append(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, 0xc0), nil
	case bool:
		return AppendBool(dst, x), nil
	case string:
		return AppendString(dst, x), nil
	case []byte:
		if x == nil {
			return append(dst, 0xc0), nil // as the JSON parser writes null
		}
		return AppendBinary(dst, x), nil
	case int:
		return AppendInt(dst, int64(x)), nil
	case int64:
		return AppendInt(dst, x), nil
	case int32:
		return AppendInt(dst, int64(x)), nil
	case int16:
		return AppendInt(dst, int64(x)), nil
	case int8:
		return AppendInt(dst, int64(x)), nil
	case uint:
		return AppendUint(dst, uint64(x)), nil
	case uint64:
		return AppendUint(dst, x), nil
	case uint32:
		return AppendUint(dst, uint64(x)), nil
	case uint16:
		return AppendUint(dst, uint64(x)), nil
	case uint8:
		return AppendUint(dst, uint64(x)), nil
	case float64:
		return AppendFloat(dst, x), nil
	case float32:
		return AppendFloat(dst, float32Number(float64(x))), nil
	case []any:
		if x == nil {
			return append(dst, 0xc0), nil
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		dst = AppendArrayHeader(dst, len(x))
		var err error
		for _, el := range x {
			if dst, err = e.append(dst, el); err != nil {
				return dst, err
			}
		}
		e.depth--
		return dst, nil
	case []string:
		if x == nil {
			return append(dst, 0xc0), nil
		}
		dst = AppendArrayHeader(dst, len(x))
		for _, s := range x {
			dst = AppendString(dst, s)
		}
		return dst, nil
	case map[string]any:
		if x == nil {
			return append(dst, 0xc0), nil
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		dst = AppendMapHeader(dst, len(x))
		var buf [16]string
		var err error
		for _, k := range sortedKeys(buf[:0], x) {
			dst = AppendString(dst, k)
			if dst, err = e.append(dst, x[k]); err != nil {
				return dst, err
			}
		}
		e.depth--
		return dst, nil
	case map[string]string:
		if x == nil {
			return append(dst, 0xc0), nil
		}
		dst = AppendMapHeader(dst, len(x))
		var buf [16]string
		for _, k := range sortedKeys(buf[:0], x) {
			dst = AppendString(dst, k)
			dst = AppendString(dst, x[k])
		}
		return dst, nil
	case time.Time:
		return e.appendTime(dst, x), nil
	case json.Number:
		return appendNumber(dst, x)
	case Marshaler:
		return x.AppendMsgpack(dst)
	case lazyValue:
		return e.appendLazy(dst, x)
	case json.Marshaler:
		return e.appendJSON(dst, x)
	}
	return e.appendReflect(dst, reflect.ValueOf(v))
}

func (e *encoder) appendLazy(dst []byte, x lazyValue) ([]byte, error) {
	var g any
	if err := x.Decode(&g); err != nil {
		return dst, err
	}
	if err := e.enter(); err != nil {
		return dst, err
	}
	dst, err := e.append(dst, g)
	e.depth--
	return dst, err
}

// appendJSON encodes a json.Marshaler through its JSON form, as notepack.io
// encodes the result of an object's toJSON().
func (e *encoder) appendJSON(dst []byte, x json.Marshaler) ([]byte, error) {
	b, err := x.MarshalJSON()
	if err != nil {
		return dst, err
	}
	var g any
	if err := json.Unmarshal(b, &g); err != nil {
		return dst, err
	}
	if err := e.enter(); err != nil {
		return dst, err
	}
	dst, err = e.append(dst, g)
	e.depth--
	return dst, err
}

func (e *encoder) enter() error {
	e.depth++
	if e.depth > maxEncodeDepth {
		return ErrMaxDepth
	}
	return nil
}

// sortedKeys appends the keys of m to keys (a small buffer of the caller's,
// so that small maps allocate nothing) and sorts them.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AppendNil appends nil (0xc0), which is also how JavaScript undefined is sent.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends true (0xc3) or false (0xc2).
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendInt appends i in the smallest integer format: non-negative values use the
// positive fixint and uint 8/16/32/64 formats, negative ones the negative fixint
// and int 8/16/32/64 formats (as notepack.io does).
func AppendInt(dst []byte, i int64) []byte {
	if i >= 0 {
		return AppendUint(dst, uint64(i))
	}
	switch {
	case i >= -32:
		return append(dst, byte(i))
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(i))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(i))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(i))
}

// AppendUint appends u in the smallest unsigned format (positive fixint, uint
// 8/16/32/64).
func AppendUint(dst []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

// AppendFloat appends f as JavaScript would send the number: an integral value
// (including -0) in [-2^63, 2^64) as an integer (see AppendInt), anything else
// (fractions, NaN, ±Inf, larger magnitudes) as float 64. float 32 is never used.
func AppendFloat(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && !math.IsInf(f, 0) {
		if f >= 0 && f < 1<<64 {
			return AppendUint(dst, uint64(f))
		}
		if f < 0 && f >= -(1<<63) {
			return AppendInt(dst, int64(f))
		}
	}
	if f != f {
		return append(dst, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0) // JavaScript's one NaN
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(f))
}

// AppendString appends s as fixstr or str 8/16/32 (the bytes are written as they
// are; JavaScript peers replace invalid UTF-8 by U+FFFD when they decode).
func AppendString(dst []byte, s string) []byte {
	dst = appendStrHeader(dst, len(s))
	return append(dst, s...)
}

func appendStrHeader(dst []byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
}

// AppendBinary appends b as bin 8/16/32 (a nil slice is an empty bin, never nil).
func AppendBinary(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements (fixarray,
// array 16/32); the caller appends the n elements.
func AppendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
}

// AppendMapHeader appends the header of a map of n pairs (fixmap, map 16/32); the
// caller appends n keys, each followed by its value.
func AppendMapHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// AppendTime appends t as the timestamp extension (type -1) in the form
// notepack.io picks for a Date: timestamp 32 for whole seconds in [0, 2^32),
// timestamp 64 for seconds in [0, 2^34), timestamp 96 otherwise. Go times keep
// their nanoseconds (a JavaScript Date has milliseconds).
func AppendTime(dst []byte, t time.Time) []byte {
	s := t.Unix()
	ns := uint32(t.Nanosecond())
	switch {
	case s >= 0 && ns == 0 && s <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd6, 0xff), uint32(s))
	case s >= 0 && s < 1<<34:
		return binary.BigEndian.AppendUint64(append(dst, 0xd7, 0xff), uint64(ns)<<34|uint64(s))
	}
	dst = append(dst, 0xc7, 12, 0xff)
	dst = binary.BigEndian.AppendUint32(dst, ns)
	return binary.BigEndian.AppendUint64(dst, uint64(s))
}

func (e *encoder) appendTime(dst []byte, t time.Time) []byte {
	if e.notepack2 {
		return binary.BigEndian.AppendUint64(append(dst, 0xd7, 0), uint64(t.UnixMilli()))
	}
	return AppendTime(dst, t)
}

func appendExtHeader(dst []byte, n int, typ int8) []byte {
	switch n {
	case 1:
		return append(dst, 0xd4, byte(typ))
	case 2:
		return append(dst, 0xd5, byte(typ))
	case 4:
		return append(dst, 0xd6, byte(typ))
	case 8:
		return append(dst, 0xd7, byte(typ))
	case 16:
		return append(dst, 0xd8, byte(typ))
	}
	switch {
	case n <= math.MaxUint8:
		return append(dst, 0xc7, byte(n), byte(typ))
	case n <= math.MaxUint16:
		return append(binary.BigEndian.AppendUint16(append(dst, 0xc8), uint16(n)), byte(typ))
	}
	return append(binary.BigEndian.AppendUint32(append(dst, 0xc9), uint32(n)), byte(typ))
}

// appendNumber writes a json.Number as the number it holds, as the JSON
// parser does.
func appendNumber(dst []byte, n json.Number) ([]byte, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return AppendInt(dst, i), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || !json.Valid([]byte(n)) {
		return dst, fmt.Errorf("msgpack: invalid json.Number %q", string(n))
	}
	return AppendFloat(dst, f), nil
}
