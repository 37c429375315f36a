// Package msgpack is Corvid's MessagePack codec. It is byte-compatible with npm
// notepack.io 3.0, the codec of socket.io-msgpack-parser and of the Socket.IO
// Redis adapters, so that Go and Node peers exchange identical bytes.
//
// # Encoding
//
// Append (and Marshal) encode a Go value the way notepack.io encodes the
// JavaScript value it stands for:
//
//   - nil, and nil pointers, interfaces, maps and slices ([]byte too, as the
//     JSON parser writes null for it): nil (0xc0).
//   - bool: 0xc2 / 0xc3.
//   - Integers: the smallest format. Non-negative values use positive fixint,
//     uint 8/16/32/64; negative ones negative fixint, int 8/16/32/64.
//   - Floats: JavaScript has only numbers, so an integral float (and -0) in
//     [-2^63, 2^64) is encoded as that integer; anything else (fractions, NaN,
//     ±Inf, larger magnitudes) as float 64. float 32 is never written: a
//     float32 stands for the number of its shortest decimal form (0.1, not
//     0.10000000149011612), the number the JSON parser writes.
//     (notepack writes wrong bytes for integers of 2^64 and above; we write
//     float 64 for them.)
//   - string: fixstr, str 8/16/32, the bytes as they are.
//   - []byte (any slice of a byte kind): bin 8/16/32.
//   - json.Number: the number it holds.
//   - Slices and arrays: fixarray, array 16/32.
//   - Maps with string or integer keys: fixmap, map 16/32, keys in sorted order
//     (Go maps have no order; notepack follows JavaScript property order).
//   - Structs: a map of the fields encoding/json writes, by its rules, so
//     that a struct reaches a msgpack peer as it reaches a JSON one: exported
//     fields in declaration order and the promoted fields of untagged
//     embedded structs (by value or through a non-nil pointer); the shallowest
//     of fields of the same name wins, then the tagged one, and a tie drops the
//     name. A field is named by its `msgpack` tag, else its `json` tag, else
//     its Go name; "-" skips it; ",omitempty" omits it when it is false, 0, "",
//     nil or an empty collection (the counterpart of notepack omitting
//     undefined properties), ",omitzero" when it is zero (or its IsZero method
//     says so); ",string" writes a number, bool or string as a string of its
//     JSON.
//   - time.Time: the timestamp extension (type -1) in notepack's choice of
//     timestamp 32/64/96, or with EncodeOptions.Notepack2 notepack 2.2's Date
//     (fixext 8 of type 0, milliseconds). npm socket.io-msgpack-parser 3.0
//     bundles notepack.io 2.2, which knows no timestamp extension; the Redis
//     adapters use notepack.io 3.0.
//   - encoding.TextMarshaler (that is neither a Marshaler nor a
//     json.Marshaler): its text as a string, as encoding/json writes it.
//   - Marshaler (and Raw, Ext): their own bytes. A value with a
//     Decode(v any) error method (a parser.Value of another parser) is decoded
//     into an any and that is encoded. A json.Marshaler (json.RawMessage
//     included) is encoded from its JSON, read into an any, the counterpart of
//     notepack calling an object's toJSON().
//
// The cases are tried in this order: nil, the common types, time.Time,
// Marshaler, Decode, json.Marshaler, then by kind.
//
// The common types (nil, bool, numbers, string, []byte, []any, []string,
// map[string]any, map[string]string, time.Time, Marshaler) take fast paths
// without reflection. AppendNil, AppendInt, AppendString, AppendArrayHeader,
// AppendMapHeader and the other appenders build messages piece by piece, with
// any key order (the packets of socket.io have a fixed one).
//
// # Decoding
//
// Unmarshal decodes exactly one value; trailing bytes are an error, as in
// notepack. Into an *any it builds the generic tree:
//
//   - nil, and undefined (notepack's legacy fixext 1 of type 0): nil
//   - bool: bool
//   - every integer and float format: float64, the number JavaScript sees
//     (integers above 2^53 lose precision exactly as in Node; decode into an
//     int64 or uint64 to keep them)
//   - str: string, with invalid UTF-8 replaced by U+FFFD the way Node's
//     decoder does it (one per maximal ill-formed subsequence), so Go sees the
//     string a JavaScript peer sees; bin (and the legacy ArrayBuffer
//     extension, type 0): []byte, a copy
//   - array: []any; map: map[string]any, keys converted to strings as
//     JavaScript does (numbers, booleans and nil are printed; arrays, maps and
//     extensions as keys are an error); a repeated key keeps its last value
//   - timestamp extension (and the legacy Date, fixext 8 of type 0): time.Time
//     in UTC
//   - any other extension: Ext
//
// This is the tree a parser.Value gives for Decode(&any), with two additions
// JSON cannot produce (time.Time and Ext).
//
// Into other Go values Unmarshal works like encoding/json: structs by the same
// field names as the encoder (exact match first, then case-insensitive), maps
// with string or integer keys, slices, arrays, pointers, integers (which must
// fit; integral floats are accepted), floats, strings and []byte (from str or
// bin), time.Time, Ext, Raw, Unmarshaler and encoding.TextUnmarshaler (from
// str), json.Number (from a number), ",string" fields (from str). A json.Unmarshaler (json.RawMessage
// included) gets the JSON form of the generic tree, so types written for the
// JSON parser decode the same way. nil leaves non-nillable targets unchanged.
//
// # Limits
//
// Decoding never trusts a declared length: a str or bin must fit in the rest
// of the input, an array of n elements needs n more bytes and a map of n pairs
// 2n before anything is allocated, and at most 1024 elements are reserved
// ahead; the rest grows with the data actually present. So the memory of a
// decoded generic tree is bounded by a small multiple of the input size.
// Nesting deeper than DecodeOptions.MaxDepth (DefaultMaxDepth, 100) fails with
// ErrMaxDepth. Malformed input gives a *SyntaxError.
//
// Skip, PeekKind and Raw let a caller walk a message without building Go
// values, which is how the msgpack Socket.IO parser keeps each argument as its
// raw bytes until a handler decodes it.
package msgpack
