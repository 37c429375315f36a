package msgpack

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// field is one encoded struct field.
type field struct {
	name      string
	key       []byte // name encoded as a msgpack string
	index     []int
	tagged    bool
	omitEmpty bool
	omitZero  bool
	quoted    bool // ",string": a number, bool or string written as a JSON string
	typ       reflect.Type
}

type structInfo struct {
	fields []field
	byName map[string]int // exact names
}

var structCache sync.Map // reflect.Type -> *structInfo

// structFields returns the fields of struct type t as the encoder and decoder
// see them, by encoding/json's rules so that a struct reaches msgpack peers as
// it reaches JSON ones: exported fields and the promoted fields of embedded
// structs (by value or through a pointer) in declaration order, named by their
// `msgpack` tag, else their `json` tag, else the Go name; "-" skips a field;
// ",omitempty" omits false, 0, "", nil and empty collections, ",omitzero" zero
// values (or those whose IsZero method says so), ",string" writes a number,
// bool or string as a JSON string. Of fields of the same name the shallowest
// wins, then the tagged one; an unresolved tie drops the name.
func structFields(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{fields: computeFields(t), byName: map[string]int{}}
	for i := range si.fields {
		si.byName[si.fields[i].name] = i
	}
	si2, _ := structCache.LoadOrStore(t, si)
	return si2.(*structInfo)
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
				tag, ok := sf.Tag.Lookup("msgpack")
				if !ok {
					tag = sf.Tag.Get("json")
				}
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(c.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := field{name: name, tagged: name != "", index: index, typ: sf.Type,
						omitEmpty: hasOption(opts, "omitempty"), omitZero: hasOption(opts, "omitzero")}
					if f.name == "" {
						f.name = sf.Name
					}
					if hasOption(opts, "string") {
						switch ft.Kind() {
						case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							f.quoted = true
						}
					}
					f.key = AppendString(nil, f.name)
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

// fieldByIndex follows index through embedded structs; ok is false when it
// passes through a nil embedded pointer. With alloc (decoding) such a pointer
// is allocated instead, when it can be set.
func fieldByIndex(v reflect.Value, index []int, alloc bool) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc || !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func hasOption(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// lookupBytes finds the field for key: an exact match, else a
// case-insensitive one (as encoding/json does).
func (si *structInfo) lookupBytes(key []byte) *field {
	if i, ok := si.byName[string(key)]; ok {
		return &si.fields[i]
	}
	for i := range si.fields {
		if strings.EqualFold(si.fields[i].name, string(key)) {
			return &si.fields[i]
		}
	}
	return nil
}
