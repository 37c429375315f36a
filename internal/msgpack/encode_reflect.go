package msgpack

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corvid-io/corvid/internal/structfields"
)

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	lazyValueType     = reflect.TypeFor[lazyValue]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	timeType          = reflect.TypeFor[time.Time]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	jsonNumberType    = reflect.TypeFor[json.Number]()
)

// appendReflect encodes the values the fast paths of append do not know.
func (e *encoder) appendReflect(dst []byte, rv reflect.Value) ([]byte, error) {
	if !rv.IsValid() {
		return append(dst, 0xc0), nil
	}
	// A type without methods implements none of the interfaces below.
	if t := rv.Type(); t.NumMethod() > 0 {
		if dst, done, err := e.appendMethods(dst, rv, t); done {
			return dst, err
		}
	}
	switch rv.Kind() {
	case reflect.Bool:
		return AppendBool(dst, rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendInt(dst, rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return AppendUint(dst, rv.Uint()), nil
	case reflect.Float32:
		return AppendFloat(dst, float32Number(rv.Float())), nil
	case reflect.Float64:
		return AppendFloat(dst, rv.Float()), nil
	case reflect.String:
		if rv.Type() == jsonNumberType {
			return appendNumber(dst, json.Number(rv.String()))
		}
		return AppendString(dst, rv.String()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(dst, 0xc0), nil
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		dst, err := e.append(dst, rv.Elem().Interface())
		e.depth--
		return dst, err
	case reflect.Slice:
		if rv.IsNil() {
			return append(dst, 0xc0), nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return AppendBinary(dst, rv.Bytes()), nil
		}
		return e.appendList(dst, rv)
	case reflect.Array:
		return e.appendList(dst, rv)
	case reflect.Map:
		if rv.IsNil() {
			return append(dst, 0xc0), nil
		}
		return e.appendMap(dst, rv)
	case reflect.Struct:
		if rv.Type() == timeType {
			return e.appendTime(dst, rv.Interface().(time.Time)), nil
		}
		return e.appendStruct(dst, rv)
	}
	return dst, &UnsupportedTypeError{Type: rv.Type()}
}

// appendMethods encodes rv when its type t has a say in its encoding
// (Marshaler, a Decode method, json.Marshaler, encoding.TextMarshaler); done
// is false otherwise.
func (e *encoder) appendMethods(dst []byte, rv reflect.Value, t reflect.Type) ([]byte, bool, error) {
	isNil := (rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface) && rv.IsNil()
	switch {
	case t.Implements(marshalerType):
		if isNil {
			return append(dst, 0xc0), true, nil
		}
		dst, err := rv.Interface().(Marshaler).AppendMsgpack(dst)
		return dst, true, err
	case t == timeType:
		return dst, false, nil
	case t.Implements(lazyValueType) || t.Implements(jsonMarshalerType):
		if isNil {
			return append(dst, 0xc0), true, nil
		}
		dst, err := e.append(dst, rv.Interface()) // the fast path's lazyValue and json.Marshaler cases
		return dst, true, err
	case t.Implements(textMarshalerType):
		if isNil {
			return append(dst, 0xc0), true, nil
		}
		b, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return dst, true, err
		}
		return AppendString(dst, string(b)), true, nil
	}
	return dst, false, nil
}

func (e *encoder) appendList(dst []byte, rv reflect.Value) ([]byte, error) {
	if err := e.enter(); err != nil {
		return dst, err
	}
	n := rv.Len()
	dst = AppendArrayHeader(dst, n)
	var err error
	for i := range n {
		if dst, err = e.appendReflect(dst, rv.Index(i)); err != nil {
			return dst, err
		}
	}
	e.depth--
	return dst, nil
}

func (e *encoder) appendMap(dst []byte, rv reflect.Value) ([]byte, error) {
	if err := e.enter(); err != nil {
		return dst, err
	}
	type kv struct {
		k string
		v reflect.Value
	}
	kvs := make([]kv, 0, rv.Len())
	it := rv.MapRange()
	for it.Next() {
		k := it.Key()
		var ks string
		switch k.Kind() {
		case reflect.String:
			ks = k.String()
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			ks = strconv.FormatInt(k.Int(), 10)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			ks = strconv.FormatUint(k.Uint(), 10)
		default:
			return dst, &UnsupportedTypeError{Type: rv.Type()}
		}
		kvs = append(kvs, kv{ks, it.Value()})
	}
	slices.SortFunc(kvs, func(a, b kv) int {
		switch {
		case a.k < b.k:
			return -1
		case a.k > b.k:
			return 1
		}
		return 0
	})
	dst = AppendMapHeader(dst, len(kvs))
	var err error
	for _, p := range kvs {
		dst = AppendString(dst, p.k)
		if dst, err = e.appendReflect(dst, p.v); err != nil {
			return dst, err
		}
	}
	e.depth--
	return dst, nil
}

func (e *encoder) appendStruct(dst []byte, rv reflect.Value) ([]byte, error) {
	if err := e.enter(); err != nil {
		return dst, err
	}
	si := structFields(rv.Type())
	// Count the fields first: the header comes before them.
	n := 0
	for i := range si.fields {
		if _, ok := fieldValue(rv, &si.fields[i]); ok {
			n++
		}
	}
	dst = AppendMapHeader(dst, n)
	var err error
	for i := range si.fields {
		f := &si.fields[i]
		fv, ok := fieldValue(rv, f)
		if !ok {
			continue
		}
		dst = append(dst, f.key...)
		if f.Quoted {
			dst, err = appendQuoted(dst, fv)
		} else {
			dst, err = e.appendReflect(dst, fv)
		}
		if err != nil {
			return dst, err
		}
	}
	e.depth--
	return dst, nil
}

// fieldValue returns the value of f in struct rv; ok is false when the field
// is not written (behind a nil embedded pointer, or omitted as empty or zero).
func fieldValue(rv reflect.Value, f *field) (reflect.Value, bool) {
	fv, ok := structfields.ByIndex(rv, f.Index, false)
	if !ok || f.OmitEmpty && isEmptyValue(fv) || f.OmitZero && isZeroValue(fv) {
		return fv, false
	}
	return fv, true
}

// appendQuoted writes a ",string" field as encoding/json does, as a string
// holding the value's JSON: a number or bool as its text, a string quoted.
func appendQuoted(dst []byte, fv reflect.Value) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fv.Interface()); err != nil {
		return dst, err
	}
	return AppendString(dst, strings.TrimSuffix(buf.String(), "\n")), nil
}

// isZeroValue is encoding/json's omitzero rule: an IsZero method decides,
// else the zero value of the type.
func isZeroValue(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
			return true
		}
		return z.IsZero()
	}
	return v.IsZero()
}

// isEmptyValue is encoding/json's omitempty rule.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// float32Number returns the number a float32 stands for: the float64 of its
// shortest decimal form (0.1, not 0.10000000149011612), which is what the JSON
// parser writes of it and a JavaScript peer sees.
func float32Number(f float64) float64 {
	g, err := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
	if err != nil {
		return f // NaN and infinities
	}
	return g
}
