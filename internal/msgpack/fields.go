package msgpack

import (
	"reflect"
	"strings"
	"sync"
)

// field is one encoded struct field.
type field struct {
	name      string
	key       []byte // name encoded as a msgpack string
	index     []int
	omitEmpty bool
	typ       reflect.Type
}

type structInfo struct {
	fields []field
	byName map[string]int // exact names
}

var structCache sync.Map // reflect.Type -> *structInfo

// structFields returns the fields of struct type t as the encoder and decoder see
// them: exported fields in declaration order, named by their `msgpack` tag, else
// their `json` tag, else the Go name; "-" skips a field and ",omitempty" omits
// false, 0, "", nil and empty collections. Untagged embedded structs are
// flattened; a field of an outer struct hides one of the same name inside.
func structFields(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	collectFields(t, nil, si, map[reflect.Type]bool{})
	si2, _ := structCache.LoadOrStore(t, si)
	return si2.(*structInfo)
}

func collectFields(t reflect.Type, index []int, si *structInfo, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.StructField
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("msgpack")
		if !ok {
			tag = sf.Tag.Get("json")
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if ft.Kind() == sf.Type.Kind() { // embedded by value only
					sf.Index = append(append([]int(nil), index...), i)
					embedded = append(embedded, sf)
				}
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, dup := si.byName[name]; dup {
			continue
		}
		f := field{
			name:      name,
			key:       AppendString(nil, name),
			index:     append(append([]int(nil), index...), i),
			omitEmpty: hasOption(opts, "omitempty"),
			typ:       sf.Type,
		}
		si.byName[name] = len(si.fields)
		si.fields = append(si.fields, f)
	}
	for _, sf := range embedded {
		collectFields(sf.Type, sf.Index, si, seen)
	}
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
