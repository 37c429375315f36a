package parser

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"sync"

	"github.com/corvid-io/corvid/internal/structfields"
)

// This file is the reflection fallback of the encoder (structs, pointers,
// typed slices and maps), following encoding/json's rules for struct fields
// and map keys, with []byte becoming binary attachments.

func appendReflect(dst []byte, atts [][]byte, rv reflect.Value, depth int) ([]byte, [][]byte, error) {
	if depth > maxEncodeDepth {
		return dst, atts, newError(ErrUnsupportedValue, "value nested too deeply (is it cyclic?)")
	}
	if !rv.IsValid() {
		return append(dst, "null"...), atts, nil
	}
	t := rv.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && rv.CanAddr() {
		if pt := reflect.PointerTo(t); pt.Implements(marshalerType) || pt.Implements(textMarshalerType) || pt.Implements(valueType) {
			rv, t = rv.Addr(), pt
		}
	}
	if t.Kind() != reflect.Interface && (t.Implements(marshalerType) || t.Implements(textMarshalerType) || t.Implements(valueType)) {
		if t.Kind() == reflect.Pointer && rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendValue(dst, atts, rv.Interface(), depth+1)
	}
	var err error
	switch t.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(dst, rv.Bool()), atts, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(dst, rv.Int(), 10), atts, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.AppendUint(dst, rv.Uint(), 10), atts, nil
	case reflect.Float32:
		return appendFloat(dst, rv.Float(), 32), atts, nil
	case reflect.Float64:
		return appendFloat(dst, rv.Float(), 64), atts, nil
	case reflect.String:
		if t == jsonNumberType {
			return appendValue(dst, atts, rv.Interface(), depth+1)
		}
		return appendQuoted(dst, rv.String()), atts, nil
	case reflect.Interface:
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendValue(dst, atts, rv.Elem().Interface(), depth+1)
	case reflect.Pointer:
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendReflect(dst, atts, rv.Elem(), depth+1)
	case reflect.Slice:
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return appendPlaceholder(dst, len(atts)), append(atts, rv.Bytes()), nil
		}
		fallthrough
	case reflect.Array:
		dst = append(dst, '[')
		for i := range rv.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = appendReflect(dst, atts, rv.Index(i), depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case reflect.Map:
		if rv.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendMap(dst, atts, rv, depth)
	case reflect.Struct:
		return appendStruct(dst, atts, rv, depth)
	}
	return dst, atts, newError(ErrUnsupportedValue, "cannot encode a "+t.String())
}

var jsonNumberType = reflect.TypeFor[json.Number]()

type mapEntry struct {
	key string
	val reflect.Value
}

func appendMap(dst []byte, atts [][]byte, rv reflect.Value, depth int) ([]byte, [][]byte, error) {
	entries := make([]mapEntry, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		k, err := mapKey(it.Key())
		if err != nil {
			return dst, atts, err
		}
		entries = append(entries, mapEntry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b mapEntry) int { return compareKeys(a.key, b.key) })
	dst = append(dst, '{')
	var err error
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(appendQuoted(dst, e.key), ':')
		if dst, atts, err = appendReflect(dst, atts, e.val, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

// mapKey returns the JSON object key of a map key, as encoding/json does.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", newError(ErrUnsupportedValue, "cannot encode a map key of type "+k.Type().String())
}

func appendStruct(dst []byte, atts [][]byte, rv reflect.Value, depth int) ([]byte, [][]byte, error) {
	dst = append(dst, '{')
	first := true
	var err error
	fields := structFields(rv.Type())
	for i := range fields {
		f := &fields[i]
		fv, ok := structfields.ByIndex(rv, f.Index, false)
		if !ok || f.OmitEmpty && isEmptyValue(fv) || f.OmitZero && isZeroValue(fv) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		if f.Quoted {
			switch fv.Kind() {
			case reflect.String:
				dst = appendQuoted(dst, string(appendQuoted(nil, fv.String())))
				continue
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
				reflect.Float32, reflect.Float64:
				dst = append(dst, '"')
				dst, atts, err = appendReflect(dst, atts, fv, depth+1)
				dst = append(dst, '"')
				if err != nil {
					return dst, atts, err
				}
				continue
			}
		}
		if dst, atts, err = appendReflect(dst, atts, fv, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func isZeroValue(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

// field is one encoded struct field.
type field struct {
	structfields.Field
	key []byte // the quoted name and ':'
}

var fieldCache sync.Map // reflect.Type -> []field

// jsonRules read the `json` tag as encoding/json does.
var jsonRules = structfields.Rules{Tags: []string{"json"}, ValidNames: true}

// structFields returns the fields encoding/json would encode for struct type
// t, in order: exported fields and the promoted fields of embedded structs,
// named by their json tags, with the usual rules for conflicting names.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	fs := jsonRules.Fields(t)
	fields := make([]field, len(fs))
	for i, f := range fs {
		fields[i] = field{Field: f, key: append(appendQuoted(nil, f.Name), ':')}
	}
	f, _ := fieldCache.LoadOrStore(t, fields)
	return f.([]field)
}
