package parser

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// maxEncodeDepth bounds the nesting of an encoded Go value, so that a cyclic
// value fails instead of recursing without end.
const maxEncodeDepth = 1000

// AppendPacket appends the text form of p, as the JSON parser encodes it, to
// dst, and the binary attachments found in its payload to atts, in placeholder
// order. Encoding a packet without binary into a dst with room allocates
// nothing when its values are of the common kinds (strings, numbers, booleans,
// nil, []any, map[string]any, []byte, json.RawMessage, received Values).
//
// An EVENT or ACK whose payload holds []byte at any depth is written as a
// BINARY_EVENT or BINARY_ACK, as socket.io-parser does; conversely a
// BINARY_EVENT or BINARY_ACK without binary is written as EVENT or ACK. The
// attachments are p's own slices, not copies. Only EVENT and ACK use Args,
// only CONNECT and CONNECT_ERROR use Data, and DISCONNECT carries nothing.
// Placeholders are numbered from 0 whatever atts already holds. On error dst
// and atts are returned as they were passed.
func AppendPacket(dst []byte, atts [][]byte, p *Packet) ([]byte, [][]byte, error) {
	start, att0 := len(dst), len(atts)
	// Placeholders count from 0 in each packet: the encoder works on the part
	// of atts after what the caller passed.
	dst, own, err := appendPacket(dst, atts[att0:], p)
	if err != nil {
		return dst[:start], atts, err
	}
	n := len(own)
	if n == 0 {
		return dst, atts, nil
	}
	atts = append(atts, own...) // in place when own did not outgrow atts
	// Binary: insert "<n>-" after the type digit and turn the type binary.
	var num [20]byte
	count := strconv.AppendInt(num[:0], int64(n), 10)
	count = append(count, '-')
	at := start + 1
	dst = append(dst, count...)
	copy(dst[at+len(count):], dst[at:len(dst)-len(count)])
	copy(dst[at:], count)
	if dst[start] == '0'+byte(Event) {
		dst[start] = '0' + byte(BinaryEvent)
	} else {
		dst[start] = '0' + byte(BinaryAck)
	}
	return dst, atts, nil
}

func appendPacket(dst []byte, atts [][]byte, p *Packet) ([]byte, [][]byte, error) {
	t := p.Type
	switch t {
	case BinaryEvent:
		t = Event
	case BinaryAck:
		t = Ack
	default:
		if !t.Valid() {
			return dst, atts, newError(ErrUnknownType, t.String())
		}
	}
	dst = append(dst, '0'+byte(t))
	if nsp := p.Namespace; nsp != "" && nsp != "/" {
		if nsp[0] != '/' || containsComma(nsp) {
			return dst, atts, newError(ErrInvalidNamespace, strconv.Quote(nsp)+": must start with '/' and have no ','")
		}
		dst = append(dst, nsp...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	var err error
	switch t {
	case Connect, ConnectError:
		if p.Data == nil {
			if t == ConnectError {
				return dst, atts, newError(ErrInvalidPayload, "CONNECT_ERROR needs a payload")
			}
			return dst, atts, nil
		}
		mark, att0 := len(dst), len(atts)
		if dst, atts, err = appendValue(dst, atts, p.Data, 0); err != nil {
			return dst, atts, err
		}
		if len(atts) != att0 {
			return dst, atts, newError(ErrUnsupportedValue, t.String()+" payload cannot carry binary")
		}
		switch c := dst[mark]; {
		case string(dst[mark:]) == "null" && t == Connect:
			dst = dst[:mark] // like JSON.stringify's caller: a null payload is omitted
		case c == '{', c == '"' && t == ConnectError:
		default:
			return dst, atts, newError(ErrInvalidPayload, t.String()+" payload must be an object")
		}
	case Event:
		if IsReservedEvent(p.Event) {
			return dst, atts, newError(ErrReservedEvent, strconv.Quote(p.Event))
		}
		dst = appendQuoted(append(dst, '['), p.Event)
		for _, a := range p.Args {
			if dst, atts, err = appendValue(append(dst, ','), atts, a, 1); err != nil {
				return dst, atts, err
			}
		}
		dst = append(dst, ']')
	case Ack:
		dst = append(dst, '[')
		for i, a := range p.Args {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendValue(dst, atts, a, 1); err != nil {
				return dst, atts, err
			}
		}
		dst = append(dst, ']')
	}
	return dst, atts, nil
}

func containsComma(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ',' {
			return true
		}
	}
	return false
}

type member struct {
	key string
	val any
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	valueType         = reflect.TypeFor[Value]()
)

// appendValue appends v as JSON.stringify would write it, with each []byte
// replaced by a placeholder and appended to atts. The common kinds are handled
// without reflection; the rest goes through appendReflect.
func appendValue(dst []byte, atts [][]byte, v any, depth int) ([]byte, [][]byte, error) {
	if depth > maxEncodeDepth {
		return dst, atts, newError(ErrUnsupportedValue, "value nested too deeply (is it cyclic?)")
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case string:
		return appendQuoted(dst, x), atts, nil
	case bool:
		return strconv.AppendBool(dst, x), atts, nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, x, 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case int8:
		return strconv.AppendInt(dst, int64(x), 10), atts, nil
	case uint:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), atts, nil
	case float64:
		return appendFloat(dst, x, 64), atts, nil
	case float32:
		return appendFloat(dst, float64(x), 32), atts, nil
	case []byte:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendPlaceholder(dst, len(atts)), append(atts, x), nil
	case json.RawMessage:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendJSONText(dst, atts, x, "json.RawMessage")
	case json.Number:
		return appendNumber(dst, atts, x)
	case []any:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendValue(dst, atts, e, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case map[string]any:
		return appendStringMap(dst, atts, x, depth)
	case *jsonValue:
		if x == nil {
			return append(dst, "null"...), atts, nil
		}
		return x.appendTo(dst, atts)
	case Value:
		if isNilPointer(x) {
			return append(dst, "null"...), atts, nil
		}
		var a any
		if err := x.Decode(&a); err != nil {
			return dst, atts, err
		}
		return appendValue(dst, atts, a, depth+1)
	case json.Marshaler:
		if isNilPointer(x) {
			return append(dst, "null"...), atts, nil
		}
		b, err := x.MarshalJSON()
		if err != nil {
			return dst, atts, err
		}
		return appendJSONText(dst, atts, b, reflect.TypeOf(x).String()+".MarshalJSON")
	case encoding.TextMarshaler:
		if isNilPointer(x) {
			return append(dst, "null"...), atts, nil
		}
		b, err := x.MarshalText()
		if err != nil {
			return dst, atts, err
		}
		return appendQuoted(dst, string(b)), atts, nil
	}
	return appendReflect(dst, atts, reflect.ValueOf(v), depth)
}

// appendStringMap and appendNumber are kept out of appendValue so that its
// stack frame stays small: it recurses, and it runs on short-lived goroutines
// (a handler's dispatcher, an ack) whose stacks would otherwise grow.

func appendStringMap(dst []byte, atts [][]byte, x map[string]any, depth int) ([]byte, [][]byte, error) {
	var err error
	if x == nil {
		return append(dst, "null"...), atts, nil
	}
	// Members are collected with their values (no second lookup) and
	// sorted; small maps stay on the stack.
	var buf [16]member
	ms := buf[:0]
	for k, e := range x {
		ms = append(ms, member{k, e})
	}
	slices.SortFunc(ms, func(a, b member) int { return compareKeys(a.key, b.key) })
	dst = append(dst, '{')
	for i := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendQuoted(dst, ms[i].key), ':')
		if dst, atts, err = appendValue(dst, atts, ms[i].val, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

func appendNumber(dst []byte, atts [][]byte, x json.Number) ([]byte, [][]byte, error) {
	var s scanner
	s.data = []byte(x)
	if end, err := s.number(0); err != nil || end != len(x) {
		return dst, atts, newError(ErrUnsupportedValue, "invalid json.Number "+strconv.Quote(string(x)))
	}
	return append(dst, x...), atts, nil
}

// appendJSONText appends JSON text produced outside this package (a
// json.RawMessage, a MarshalJSON result) after checking it, compacted. It may
// not hold binary placeholders: those are the encoder's to number.
func appendJSONText(dst []byte, atts [][]byte, b []byte, what string) ([]byte, [][]byte, error) {
	var s scanner
	s.data = b
	start := s.skipWS(0)
	end, err := s.value(start)
	if err == nil && s.skipWS(end) != len(b) {
		err = syntaxError("data after the value")
	}
	if err != nil {
		kind, detail := ErrUnsupportedValue, err.Error()
		if pe, ok := err.(*Error); ok {
			detail = pe.Detail
			if pe.Kind == ErrPlaceholder {
				kind = ErrPlaceholder
			}
		}
		return dst, atts, newError(kind, what+": "+detail)
	}
	if !s.ws {
		return append(dst, b...), atts, nil
	}
	return appendCompact(dst, b[start:end]), atts, nil
}

func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// compareKeys orders object keys the way a JavaScript object enumerates them
// when its keys were added in sorted order: array-index keys ("0", "10")
// first, in numeric order, then the other keys (sorted, as Go maps have no
// insertion order).
func compareKeys(a, b string) int {
	if (len(a) == 0 || !isDigit(a[0])) && (len(b) == 0 || !isDigit(b[0])) {
		return strings.Compare(a, b)
	}
	ai, bi := arrayIndex(a), arrayIndex(b)
	switch {
	case ai >= 0 && bi >= 0:
		return cmp.Compare(ai, bi)
	case ai >= 0:
		return -1
	case bi >= 0:
		return 1
	}
	return strings.Compare(a, b)
}

// arrayIndex returns the value of a canonical array index key (an integer
// below 2^32-1 without leading zeros), or -1.
func arrayIndex(k string) int64 {
	if len(k) == 0 || len(k) > 10 || len(k) > 1 && k[0] == '0' {
		return -1
	}
	var n int64
	for i := 0; i < len(k); i++ {
		if !isDigit(k[i]) {
			return -1
		}
		n = n*10 + int64(k[i]-'0')
	}
	if n >= 1<<32-1 {
		return -1
	}
	return n
}
