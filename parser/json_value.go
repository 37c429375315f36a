package parser

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/corvid-io/corvid/internal/structfields"
)

// jsonValue is a Value received by the JSON parser: the raw JSON of one element
// and the attachments of its packet.
type jsonValue struct {
	raw   []byte
	atts  [][]byte
	flags uint8
}

const (
	valueBinary uint8 = 1 << iota // raw holds placeholders
	valueSpaced                   // raw holds whitespace between tokens
)

// Raw returns the JSON text of the value as received (binary attachments appear
// as placeholders). It aliases the received message.
func (v *jsonValue) Raw() []byte { return v.raw }

func (v *jsonValue) String() string { return string(v.raw) }

// MarshalJSON lets encoding/json write a received value (in a log line, say):
// its JSON with binary attachments as base64 strings, as encoding/json writes
// []byte.
func (v *jsonValue) MarshalJSON() ([]byte, error) {
	if v.flags&valueBinary == 0 {
		return v.raw, nil
	}
	return v.withBase64(), nil
}

// withBase64 returns raw with every placeholder replaced by the base64 string
// of its attachment.
func (v *jsonValue) withBase64() []byte {
	return rewritePlaceholders(make([]byte, 0, len(v.raw)+64), v.raw, func(b []byte, num int) []byte {
		if num >= len(v.atts) {
			return append(b, "null"...)
		}
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.atts[num])
		return append(b, '"')
	})
}

// Decode stores the value in dst like json.Unmarshal, with binary placeholders
// resolving to []byte at any depth: into *any (and into any interface inside a
// typed target) they become []byte, into a []byte-typed target the bytes. A
// []byte stored into *any, into an interface or directly into *[]byte shares
// memory with the received attachment. Decode may be called any number of
// times, also concurrently.
func (v *jsonValue) Decode(dst any) error {
	raw := v.raw
	switch t := dst.(type) {
	case *any:
		x, _ := v.parseAny(0)
		*t = x
		return nil
	case *string:
		if raw[0] == '"' {
			*t = unquote(raw)
			return nil
		}
	case *float64:
		if raw[0] == '-' || isDigit(raw[0]) {
			f, err := strconv.ParseFloat(string(raw), 64)
			if err == nil {
				*t = f
				return nil
			}
		}
	case *int:
		if n, err := strconv.Atoi(string(raw)); err == nil && isPlainInt(raw) {
			*t = n
			return nil
		}
	case *int64:
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && isPlainInt(raw) {
			*t = n
			return nil
		}
	case *[]any:
		if raw[0] == '[' {
			x, _ := v.parseAny(0)
			*t = x.([]any)
			return nil
		}
	case *map[string]any:
		// json.Unmarshal adds to an existing map; only a nil one is replaced.
		if raw[0] == '{' && *t == nil {
			if x, _ := v.parseAny(0); x != nil {
				if m, ok := x.(map[string]any); ok {
					*t = m
					return nil
				}
			}
		}
	case *bool:
		switch raw[0] {
		case 't':
			*t = true
			return nil
		case 'f':
			*t = false
			return nil
		}
	case *[]byte:
		if raw[0] == '{' && v.flags&valueBinary != 0 {
			if num, _, ok := placeholderAt(raw, 0); ok && num < len(v.atts) {
				*t = v.atts[num]
				return nil
			}
		}
	}
	if v.flags&valueBinary == 0 {
		return json.Unmarshal(raw, dst)
	}
	// Placeholders become base64 strings, which json.Unmarshal decodes into
	// []byte targets; interfaces inside the target are fixed up afterwards.
	if err := json.Unmarshal(v.withBase64(), dst); err != nil {
		return err
	}
	rv := reflect.ValueOf(dst)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() {
		v.fixInterfaces(raw, rv.Elem(), 0)
	}
	return nil
}

// isPlainInt reports whether a number token has no fraction or exponent.
func isPlainInt(tok []byte) bool {
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}

// unquote returns the string of a validated JSON string token.
func unquote(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	for _, c := range inner {
		if c == '\\' || c >= utf8.RuneSelf {
			return string(appendUnescaped(make([]byte, 0, len(inner)), inner))
		}
	}
	return string(inner)
}

// parseAny converts the validated JSON at raw[i] into map[string]any, []any,
// string, float64, bool, nil or []byte (placeholders).
func (v *jsonValue) parseAny(i int) (any, int) {
	p := anyParser{v: v, s: scanner{data: v.raw, lenient: true}}
	x, end := p.value(i)
	if p.scratch != nil {
		if cap(p.stack) <= 4096 && cap(p.names) <= 4096 {
			p.scratch.stack, p.scratch.names = p.stack[:0], p.names[:0]
			anyScratchPool.Put(p.scratch)
		}
	}
	return x, end
}

// anyParser holds the state of one parseAny: a shared stack where array
// elements and object members collect until their container is built with its
// exact size, and a small cache of recent object keys (objects in an array
// usually repeat theirs).
type anyParser struct {
	v       *jsonValue
	s       scanner
	scratch *anyScratch // from the pool, taken at the first container
	stack   []any       // array elements and member values
	names   []string    // member names
	keys    [8]string
	next    int
}

type anyScratch struct {
	stack []any
	names []string
}

var anyScratchPool = sync.Pool{New: func() any {
	return &anyScratch{stack: make([]any, 0, 32), names: make([]string, 0, 32)}
}}

func (p *anyParser) needStack() {
	if p.scratch == nil {
		p.scratch = anyScratchPool.Get().(*anyScratch)
		p.stack, p.names = p.scratch.stack, p.scratch.names
	}
}

func (p *anyParser) key(tok []byte) string {
	inner := tok[1 : len(tok)-1]
	for _, k := range p.keys {
		if k == string(inner) && k != "" {
			return k
		}
	}
	k := unquote(tok)
	p.keys[p.next%len(p.keys)] = k
	p.next++
	return k
}

func (p *anyParser) value(i int) (any, int) {
	raw := p.v.raw
	s := &p.s
	i = s.skipWS(i)
	switch c := raw[i]; c {
	case '"':
		end, _, _ := s.str(i)
		return unquote(raw[i:end]), end
	case 't':
		return true, i + 4
	case 'f':
		return false, i + 5
	case 'n':
		return nil, i + 4
	case '[':
		p.needStack()
		mark := len(p.stack)
		i = s.skipWS(i + 1)
		if raw[i] != ']' {
			for {
				var e any
				e, i = p.value(i)
				p.stack = append(p.stack, e)
				i = s.skipWS(i)
				if raw[i] == ']' {
					break
				}
				i++ // ','
			}
		}
		out := make([]any, len(p.stack)-mark)
		copy(out, p.stack[mark:])
		clear(p.stack[mark:])
		p.stack = p.stack[:mark]
		return out, i + 1
	case '{':
		if p.v.flags&valueBinary != 0 {
			if num, end, ok := placeholderAt(raw, i); ok && num < len(p.v.atts) {
				return p.v.atts[num], end
			}
		}
		p.needStack()
		mark := len(p.stack)
		i = s.skipWS(i + 1)
		if raw[i] != '}' {
			for {
				end, _, _ := s.str(i)
				p.names = append(p.names, p.key(raw[i:end]))
				i = s.skipWS(end) + 1 // ':'
				var e any
				e, i = p.value(i)
				p.stack = append(p.stack, e)
				i = s.skipWS(i)
				if raw[i] == '}' {
					break
				}
				i = s.skipWS(i + 1) // ','
			}
		}
		n := len(p.stack) - mark
		out := make(map[string]any, n)
		names := p.names[len(p.names)-n:]
		for k, name := range names {
			out[name] = p.stack[mark+k]
		}
		clear(p.stack[mark:])
		clear(names)
		p.stack, p.names = p.stack[:mark], p.names[:len(p.names)-n]
		return out, i + 1
	default:
		end, _ := s.number(i)
		f, err := strconv.ParseFloat(string(raw[i:end]), 64)
		if err != nil { // out of range: JSON.parse makes it an infinity too
			f = math.Inf(1)
			if c == '-' {
				f = math.Inf(-1)
			}
		}
		return f, end
	}
}

// appendTo re-encodes a received value into a new packet: its raw JSON with its
// placeholders renumbered into atts.
func (v *jsonValue) appendTo(dst []byte, atts [][]byte) ([]byte, [][]byte, error) {
	raw := v.raw
	if v.flags&valueSpaced != 0 {
		raw = appendCompact(nil, raw)
	}
	if v.flags&valueBinary == 0 {
		return append(dst, raw...), atts, nil
	}
	dst = rewritePlaceholders(dst, raw, func(b []byte, num int) []byte {
		if num >= len(v.atts) {
			return append(b, "null"...)
		}
		b = appendPlaceholder(b, len(atts))
		atts = append(atts, v.atts[num])
		return b
	})
	return dst, atts, nil
}

// fixInterfaces walks raw (the value as received) together with rv (where
// json.Unmarshal stored it with placeholders as base64 strings) and replaces
// what went into interfaces by parseAny's result, so that binary is []byte there
// too. Only parts of the type that can hold an interface are visited.
func (v *jsonValue) fixInterfaces(raw []byte, rv reflect.Value, depth int) {
	if depth > maxDepth || !mayHoldInterface(rv.Type()) {
		return
	}
	sub := jsonValue{raw: raw, atts: v.atts, flags: v.flags}
	var s scanner
	s.data = raw
	i := s.skipWS(0)
	switch rv.Kind() {
	case reflect.Interface:
		if rv.NumMethod() == 0 && !rv.IsNil() {
			x, _ := sub.parseAny(i)
			rv.Set(reflect.ValueOf(&x).Elem())
		}
	case reflect.Pointer:
		if !rv.IsNil() {
			v.fixInterfaces(raw, rv.Elem(), depth+1)
		}
	case reflect.Slice, reflect.Array:
		if raw[i] != '[' {
			return
		}
		forEachElement(raw, i, func(k int, elem []byte) {
			if k < rv.Len() {
				v.fixInterfaces(elem, rv.Index(k), depth+1)
			}
		})
	case reflect.Map:
		if raw[i] != '{' || rv.IsNil() || rv.Type().Key().Kind() != reflect.String {
			return
		}
		et := rv.Type().Elem()
		forEachMember(raw, i, func(key string, elem []byte) {
			k := reflect.ValueOf(key).Convert(rv.Type().Key())
			cur := rv.MapIndex(k)
			if !cur.IsValid() {
				return
			}
			tmp := reflect.New(et).Elem()
			tmp.Set(cur)
			v.fixInterfaces(elem, tmp, depth+1)
			rv.SetMapIndex(k, tmp)
		})
	case reflect.Struct:
		if raw[i] != '{' {
			return
		}
		fields := structFields(rv.Type())
		forEachMember(raw, i, func(key string, elem []byte) {
			f := lookupField(fields, key)
			if f == nil {
				return
			}
			if fv, ok := structfields.ByIndex(rv, f.Index, false); ok && fv.CanSet() {
				v.fixInterfaces(elem, fv, depth+1)
			}
		})
	}
}

// lookupField finds the field json.Unmarshal stores key in: an exact name
// match first, then a case-insensitive one.
func lookupField(fields []field, key string) *field {
	for i := range fields {
		if fields[i].Name == key {
			return &fields[i]
		}
	}
	for i := range fields {
		if strings.EqualFold(fields[i].Name, key) {
			return &fields[i]
		}
	}
	return nil
}

// mayHoldInterface reports whether a value of type t can contain an interface
// value (an interface itself, or a container of one).
func mayHoldInterface(t reflect.Type) bool {
	if b, ok := interfaceCache.Load(t); ok {
		return b.(bool)
	}
	b := typeMayHoldInterface(t, map[reflect.Type]bool{})
	interfaceCache.Store(t, b)
	return b
}

var interfaceCache sync.Map // reflect.Type -> bool

func typeMayHoldInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return typeMayHoldInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() || t.Field(i).Anonymous {
				if typeMayHoldInterface(t.Field(i).Type, seen) {
					return true
				}
			}
		}
	}
	return false
}

// forEachElement calls fn with the raw text of each element of the validated
// array at raw[i].
func forEachElement(raw []byte, i int, fn func(k int, elem []byte)) {
	s := scanner{data: raw, lenient: true}
	i = s.skipWS(i + 1)
	for k := 0; i < len(raw) && raw[i] != ']'; k++ {
		end, _ := s.value(i)
		fn(k, raw[i:end])
		i = s.skipWS(end)
		if i < len(raw) && raw[i] == ',' {
			i = s.skipWS(i + 1)
		}
	}
}

// forEachMember calls fn with each key and raw value of the validated object
// at raw[i].
func forEachMember(raw []byte, i int, fn func(key string, elem []byte)) {
	s := scanner{data: raw, lenient: true}
	i = s.skipWS(i + 1)
	for i < len(raw) && raw[i] == '"' {
		end, _, _ := s.str(i)
		key := unquote(raw[i:end])
		i = s.skipWS(s.skipWS(end) + 1)
		vEnd, _ := s.value(i)
		fn(key, raw[i:vEnd])
		i = s.skipWS(vEnd)
		if i < len(raw) && raw[i] == ',' {
			i = s.skipWS(i + 1)
		}
	}
}
