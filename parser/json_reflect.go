package parser

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
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
		fv, ok := fieldByIndex(rv, f.index)
		if !ok || f.omitEmpty && isEmptyValue(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, f.key...)
		if f.quoted {
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

// fieldByIndex follows index through embedded structs; ok is false when it
// passes through a nil embedded pointer.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
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
	name      string
	key       []byte // the quoted name and ':'
	index     []int
	tagged    bool
	omitEmpty bool
	omitZero  bool
	quoted    bool
}

var fieldCache sync.Map // reflect.Type -> []field

// structFields returns the fields encoding/json would encode for struct type
// t, in order: exported fields and the promoted fields of embedded structs,
// named by their json tags, with the usual rules for conflicting names.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	f, _ := fieldCache.LoadOrStore(t, computeFields(t))
	return f.([]field)
}

func computeFields(t reflect.Type) []field {
	type todo struct {
		typ   reflect.Type
		index []int
	}
	var fields []field
	next := []todo{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current := next
		next = nil
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, c := range current {
			if visited[c.typ] {
				continue
			}
			visited[c.typ] = true
			for i := range c.typ.NumField() {
				sf := c.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(c.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := field{name: name, tagged: name != "", index: index}
					if f.name == "" {
						f.name = sf.Name
					}
					for opt := range strings.SplitSeq(opts, ",") {
						switch opt {
						case "omitempty":
							f.omitEmpty = true
						case "omitzero":
							f.omitZero = true
						case "string":
							switch ft.Kind() {
							case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
								reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
								reflect.Float32, reflect.Float64, reflect.String:
								f.quoted = true
							}
						}
					}
					f.key = append(appendQuoted(nil, f.name), ':')
					fields = append(fields, f)
					if count[c.typ] > 1 {
						// The embedding struct appears twice at this depth: its fields
						// annihilate each other below.
						fields = append(fields, fields[len(fields)-1])
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, todo{typ: ft, index: index})
				}
			}
		}
	}
	// Keep, for each name, the dominant field: the shallowest, then the tagged
	// one; an unresolved tie drops the name.
	slices.SortStableFunc(fields, func(a, b field) int {
		if c := cmp.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].index) < len(group[1].index) || group[0].tagged && !group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c > 0x7f:
		default:
			return false
		}
	}
	return true
}
