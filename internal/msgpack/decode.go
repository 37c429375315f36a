package msgpack

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/corvid-io/corvid/internal/structfields"
)

// DecodeOptions configures a decode. The zero value (and nil) means the defaults.
type DecodeOptions struct {
	// MaxDepth is the deepest nesting of arrays and maps accepted;
	// 0 means DefaultMaxDepth.
	MaxDepth int
}

// Unmarshal decodes the single msgpack value in data into v, which must be a
// non-nil pointer, with the default options. Trailing bytes after the value are
// an error (as in notepack.io). See the package documentation for the Go types
// each msgpack value decodes into.
func Unmarshal(data []byte, v any) error {
	return UnmarshalOptions(data, v, nil)
}

// UnmarshalOptions is Unmarshal with options (nil means the defaults).
func UnmarshalOptions(data []byte, v any, opts *DecodeOptions) error {
	s := newScanner(data, opts)
	if err := s.decodeInto(v); err != nil {
		return err
	}
	if s.off != len(data) {
		return s.errorf(s.off, strconv.Itoa(len(data)-s.off)+" trailing bytes")
	}
	return nil
}

// Skip returns the length in bytes of the first complete msgpack value in data,
// validating it (lengths, nesting depth, map key kinds) without decoding it:
// a value Skip accepts decodes into an *any. Bytes after the value are not
// examined.
func Skip(data []byte, opts *DecodeOptions) (int, error) {
	s := newScanner(data, opts)
	if err := s.skip(); err != nil {
		return 0, err
	}
	return s.off, nil
}

// Valid reports whether data is exactly one well-formed msgpack value within the
// default limits whose map keys all convert to strings.
func Valid(data []byte) bool {
	var v any
	return Unmarshal(data, &v) == nil
}

// PeekKind returns the kind of the first value in data without validating it.
func PeekKind(data []byte) Kind {
	if len(data) == 0 {
		return KindInvalid
	}
	c := data[0]
	switch {
	case c < 0x80 || c >= 0xe0:
		return KindInt
	case c < 0x90:
		return KindMap
	case c < 0xa0:
		return KindArray
	case c < 0xc0:
		return KindString
	}
	switch c {
	case 0xc0:
		return KindNil
	case 0xc2, 0xc3:
		return KindBool
	case 0xc4, 0xc5, 0xc6:
		return KindBinary
	case 0xca, 0xcb:
		return KindFloat
	case 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
		return KindInt
	case 0xd9, 0xda, 0xdb:
		return KindString
	case 0xdc, 0xdd:
		return KindArray
	case 0xde, 0xdf:
		return KindMap
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		// Extensions: decode the header to tell the legacy codes apart.
		s := scanner{b: data, max: 1}
		if t, err := s.next(); err == nil {
			return t.kind
		}
		return KindExt
	}
	return KindInvalid
}

func newScanner(data []byte, opts *DecodeOptions) scanner {
	max := DefaultMaxDepth
	if opts != nil && opts.MaxDepth > 0 {
		max = opts.MaxDepth
	}
	return scanner{b: data, max: max}
}

// Int decodes raw, exactly one number, as an integer the way JavaScript's
// Number.isInteger sees it: any integer format, or a float holding an integer.
// It reports false for anything else and for values outside int64.
func Int(raw []byte) (int64, bool) {
	s := scanner{b: raw}
	t, err := s.next()
	if err != nil || s.off != len(raw) {
		return 0, false
	}
	return t.int64()
}

// Uint is Int for non-negative integers up to 2^64-1.
func Uint(raw []byte) (uint64, bool) {
	s := scanner{b: raw}
	t, err := s.next()
	if err != nil || s.off != len(raw) {
		return 0, false
	}
	return t.uint64()
}

// String decodes raw, exactly one str value; it reports false for anything else.
func String(raw []byte) (string, bool) {
	s := scanner{b: raw}
	t, err := s.next()
	if err != nil || s.off != len(raw) || t.kind != KindString {
		return "", false
	}
	return jsString(t.data), true
}

// decodeInto dispatches on the target: the common generic targets without
// reflection, everything else through decodeValue.
func (s *scanner) decodeInto(v any) error {
	switch p := v.(type) {
	case *any:
		if p != nil {
			g, err := s.any()
			if err != nil {
				return err
			}
			*p = g
			return nil
		}
	case *string:
		if p != nil {
			return s.scalar(func(t *token) bool {
				if t.kind != KindString && t.kind != KindBinary {
					return false
				}
				*p = jsString(t.data)
				return true
			}, p)
		}
	case *float64:
		if p != nil {
			return s.scalar(func(t *token) bool {
				if t.kind != KindInt && t.kind != KindFloat {
					return false
				}
				*p = t.float()
				return true
			}, p)
		}
	case *int64:
		if p != nil {
			return s.scalar(func(t *token) bool {
				i, ok := t.int64()
				if ok {
					*p = i
				}
				return ok
			}, p)
		}
	case *uint64:
		if p != nil {
			return s.scalar(func(t *token) bool {
				u, ok := t.uint64()
				if ok {
					*p = u
				}
				return ok
			}, p)
		}
	case *bool:
		if p != nil {
			return s.scalar(func(t *token) bool {
				if t.kind != KindBool {
					return false
				}
				*p = t.b
				return true
			}, p)
		}
	case *Raw:
		if p != nil {
			start := s.off
			if err := s.skip(); err != nil {
				return err
			}
			*p = append((*p)[:0], s.b[start:s.off]...)
			return nil
		}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	return s.decodeValue(rv.Elem())
}

// scalar decodes one token with set; nil and undefined leave the target
// unchanged, any other kind set refuses is an *UnmarshalTypeError.
func (s *scanner) scalar(set func(*token) bool, target any) error {
	off := s.off
	t, err := s.next()
	if err != nil {
		return err
	}
	if t.kind == KindNil || t.kind == KindUndefined || set(&t) {
		return nil
	}
	return s.typeError(&t, reflect.ValueOf(target).Elem(), off)
}

// any decodes one value into the generic tree.
func (s *scanner) any() (any, error) {
	t, err := s.next()
	if err != nil {
		return nil, err
	}
	return s.anyFrom(&t)
}

// prealloc bounds the capacity reserved from a declared count; the rest grows
// with the data actually present.
const prealloc = 1024

func (s *scanner) anyFrom(t *token) (any, error) {
	switch t.kind {
	case KindNil, KindUndefined:
		return nil, nil
	case KindBool:
		return t.b, nil
	case KindInt, KindFloat:
		return t.float(), nil
	case KindString:
		return jsString(t.data), nil
	case KindBinary:
		return append([]byte{}, t.data...), nil
	case KindTime:
		return t.time(), nil
	case KindExt:
		return Ext{Type: t.ext, Data: append([]byte{}, t.data...)}, nil
	case KindArray:
		if err := s.enter(); err != nil {
			return nil, err
		}
		a := make([]any, 0, min(t.n, prealloc))
		for range t.n {
			el, err := s.any()
			if err != nil {
				return nil, err
			}
			a = append(a, el)
		}
		s.depth--
		return a, nil
	case KindMap:
		if err := s.enter(); err != nil {
			return nil, err
		}
		m := make(map[string]any, min(t.n, prealloc))
		for range t.n {
			k, err := s.key()
			if err != nil {
				return nil, err
			}
			el, err := s.any()
			if err != nil {
				return nil, err
			}
			m[k] = el
		}
		s.depth--
		return m, nil
	}
	return nil, s.errorf(s.off, "unexpected "+t.kind.String())
}

// keyBytes reads one map key; str and bin keys with valid UTF-8 alias the
// input, the others are converted as key does.
func (s *scanner) keyBytes() ([]byte, error) {
	off := s.off
	t, err := s.next()
	if err != nil {
		return nil, err
	}
	if (t.kind == KindString || t.kind == KindBinary) && utf8.Valid(t.data) {
		return t.data, nil
	}
	k, err := s.keyString(&t, off)
	return []byte(k), err
}

// key reads one map key as a string.
func (s *scanner) key() (string, error) {
	off := s.off
	t, err := s.next()
	if err != nil {
		return "", err
	}
	return s.keyString(&t, off)
}

var (
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	extType             = reflect.TypeFor[Ext]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decodeJSON decodes one value into a json.Unmarshaler through its JSON form
// (the generic tree written by encoding/json; binary becomes base64 there).
func (s *scanner) decodeJSON(rv reflect.Value) error {
	off := s.off
	g, err := s.any()
	if err != nil {
		return err
	}
	b, err := json.Marshal(g)
	if err != nil {
		return &UnmarshalTypeError{Value: "value without a JSON form (" + err.Error() + ")", Type: rv.Type(), Offset: off}
	}
	return rv.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b)
}

// decodeValue decodes one value into rv (settable).
func (s *scanner) decodeValue(rv reflect.Value) error {
	if rv.CanAddr() && reflect.PointerTo(rv.Type()).Implements(unmarshalerType) {
		start := s.off
		if err := s.skip(); err != nil {
			return err
		}
		return rv.Addr().Interface().(Unmarshaler).UnmarshalMsgpack(s.b[start:s.off])
	}
	if rv.CanAddr() && rv.Type() != timeType && reflect.PointerTo(rv.Type()).Implements(jsonUnmarshalerType) {
		return s.decodeJSON(rv)
	}
	if rv.CanAddr() && rv.Type() != timeType && PeekKind(s.b[s.off:]) == KindString &&
		reflect.PointerTo(rv.Type()).Implements(textUnmarshalerType) {
		// What the encoder wrote of a TextMarshaler.
		t, err := s.next()
		if err != nil {
			return err
		}
		return rv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(t.data)
	}
	start := s.off
	t, err := s.next()
	if err != nil {
		return err
	}
	if rv.Type() == jsonNumberType && (t.kind == KindInt || t.kind == KindFloat) {
		// What the encoder wrote of a json.Number.
		switch {
		case t.kind == KindFloat:
			rv.SetString(strconv.FormatFloat(t.f, 'g', -1, 64))
		case t.neg:
			rv.SetString(strconv.FormatInt(t.i, 10))
		default:
			rv.SetString(strconv.FormatUint(t.u, 10))
		}
		return nil
	}
	return s.decodeToken(rv, &t, start)
}

func (s *scanner) typeError(t *token, rv reflect.Value, off int) error {
	if err := s.skipRest(t); err != nil {
		return err
	}
	return &UnmarshalTypeError{Value: t.kind.String(), Type: rv.Type(), Offset: off}
}

func (s *scanner) decodeToken(rv reflect.Value, t *token, off int) error {
	if t.kind == KindNil || t.kind == KindUndefined {
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
			rv.SetZero()
		}
		return nil // like encoding/json, other kinds keep their value
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			rv.Set(reflect.New(rv.Type().Elem()))
		}
		return s.decodeToken(rv.Elem(), t, off)
	case reflect.Interface:
		if rv.NumMethod() != 0 {
			return s.typeError(t, rv, off)
		}
		g, err := s.anyFrom(t)
		if err != nil {
			return err
		}
		rv.Set(reflect.ValueOf(g))
		return nil
	case reflect.Bool:
		if t.kind != KindBool {
			return s.typeError(t, rv, off)
		}
		rv.SetBool(t.b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := t.int64()
		if !ok || rv.OverflowInt(i) {
			return s.typeError(t, rv, off)
		}
		rv.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, ok := t.uint64()
		if !ok || rv.OverflowUint(u) {
			return s.typeError(t, rv, off)
		}
		rv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		if t.kind != KindInt && t.kind != KindFloat {
			return s.typeError(t, rv, off)
		}
		rv.SetFloat(t.float())
		return nil
	case reflect.String:
		if t.kind != KindString && t.kind != KindBinary {
			return s.typeError(t, rv, off)
		}
		rv.SetString(jsString(t.data))
		return nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 && (t.kind == KindBinary || t.kind == KindString) {
			b := reflect.MakeSlice(rv.Type(), len(t.data), len(t.data))
			reflect.Copy(b, reflect.ValueOf(t.data))
			rv.Set(b)
			return nil
		}
		if t.kind != KindArray {
			return s.typeError(t, rv, off)
		}
		return s.decodeSlice(rv, t)
	case reflect.Array:
		if t.kind != KindArray {
			return s.typeError(t, rv, off)
		}
		return s.decodeArray(rv, t)
	case reflect.Map:
		if t.kind != KindMap {
			return s.typeError(t, rv, off)
		}
		return s.decodeMap(rv, t, off)
	case reflect.Struct:
		if rv.Type() == extType && t.kind == KindExt {
			rv.Set(reflect.ValueOf(Ext{Type: t.ext, Data: append([]byte{}, t.data...)}))
			return nil
		}
		if rv.Type() == timeType {
			if t.kind != KindTime {
				return s.typeError(t, rv, off)
			}
			rv.Set(reflect.ValueOf(t.time()))
			return nil
		}
		if t.kind != KindMap {
			return s.typeError(t, rv, off)
		}
		return s.decodeStruct(rv, t)
	}
	return s.typeError(t, rv, off)
}

// int64 converts a numeric token exactly; floats must be integral.
func (t *token) int64() (int64, bool) {
	switch t.kind {
	case KindInt:
		if t.neg {
			return t.i, true
		}
		return int64(t.u), t.u <= 1<<63-1
	case KindFloat:
		if t.f >= -(1<<63) && t.f < 1<<63 && t.f == float64(int64(t.f)) {
			return int64(t.f), true
		}
	}
	return 0, false
}

func (t *token) uint64() (uint64, bool) {
	switch t.kind {
	case KindInt:
		return t.u, !t.neg
	case KindFloat:
		if t.f >= 0 && t.f < 1<<64 && t.f == float64(uint64(t.f)) {
			return uint64(t.f), true
		}
	}
	return 0, false
}

func (s *scanner) decodeSlice(rv reflect.Value, t *token) error {
	if err := s.enter(); err != nil {
		return err
	}
	sl := reflect.MakeSlice(rv.Type(), 0, min(t.n, prealloc))
	for range t.n {
		sl = reflect.Append(sl, reflect.Zero(rv.Type().Elem()))
		if err := s.decodeValue(sl.Index(sl.Len() - 1)); err != nil {
			return err
		}
	}
	rv.Set(sl)
	s.depth--
	return nil
}

func (s *scanner) decodeArray(rv reflect.Value, t *token) error {
	if err := s.enter(); err != nil {
		return err
	}
	for i := range t.n {
		if i < rv.Len() {
			if err := s.decodeValue(rv.Index(i)); err != nil {
				return err
			}
		} else if err := s.skip(); err != nil {
			return err
		}
	}
	for i := t.n; i < rv.Len(); i++ {
		rv.Index(i).SetZero()
	}
	s.depth--
	return nil
}

func (s *scanner) decodeMap(rv reflect.Value, t *token, off int) error {
	if err := s.enter(); err != nil {
		return err
	}
	mt := rv.Type()
	if rv.IsNil() {
		rv.Set(reflect.MakeMapWithSize(mt, min(t.n, prealloc)))
	}
	kt := mt.Key()
	for range t.n {
		koff := s.off
		ks, err := s.key()
		if err != nil {
			return err
		}
		kv := reflect.New(kt).Elem()
		switch kt.Kind() {
		case reflect.String:
			kv.SetString(ks)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			i, err := strconv.ParseInt(ks, 10, 64)
			if err != nil || kv.OverflowInt(i) {
				return &UnmarshalTypeError{Value: "map key " + strconv.Quote(ks), Type: kt, Offset: koff}
			}
			kv.SetInt(i)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			u, err := strconv.ParseUint(ks, 10, 64)
			if err != nil || kv.OverflowUint(u) {
				return &UnmarshalTypeError{Value: "map key " + strconv.Quote(ks), Type: kt, Offset: koff}
			}
			kv.SetUint(u)
		default:
			return &UnmarshalTypeError{Value: "map", Type: mt, Offset: off}
		}
		ev := reflect.New(mt.Elem()).Elem()
		if err := s.decodeValue(ev); err != nil {
			return err
		}
		rv.SetMapIndex(kv, ev)
	}
	s.depth--
	return nil
}

func (s *scanner) decodeStruct(rv reflect.Value, t *token) error {
	if err := s.enter(); err != nil {
		return err
	}
	si := structFields(rv.Type())
	for range t.n {
		kb, err := s.keyBytes()
		if err != nil {
			return err
		}
		f := si.lookupBytes(kb)
		if f == nil {
			if err := s.skip(); err != nil {
				return err
			}
			continue
		}
		fv, ok := structfields.ByIndex(rv, f.Index, true)
		if !ok { // behind a nil pointer to an unexported struct
			if err := s.skip(); err != nil {
				return err
			}
			continue
		}
		if f.Quoted && PeekKind(s.b[s.off:]) == KindString {
			// ",string": the JSON of the value, in a string
			off := s.off
			t, err := s.next()
			if err != nil {
				return err
			}
			if err := json.Unmarshal(t.data, fv.Addr().Interface()); err != nil {
				return &UnmarshalTypeError{Value: "string " + strconv.Quote(string(t.data)), Type: fv.Type(), Offset: off}
			}
			continue
		}
		if err := s.decodeValue(fv); err != nil {
			return err
		}
	}
	s.depth--
	return nil
}

// Compile-time checks.
var (
	_ Marshaler   = Raw(nil)
	_ Unmarshaler = (*Raw)(nil)
	_ Marshaler   = Ext{}
)
