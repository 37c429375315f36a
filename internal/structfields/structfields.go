// Package structfields resolves the fields of a Go struct type by
// encoding/json's rules, for the encoders that follow them (parser's JSON and
// internal/msgpack). Each caller builds and caches its own per-type view
// (encoded keys, lookup tables) from [Fields].
package structfields

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
)

// Field is one encoded struct field.
type Field struct {
	Name      string
	Index     []int // for [ByIndex]
	Tagged    bool  // named by a tag
	OmitEmpty bool  // ",omitempty": omit false, 0, "", nil and empty collections
	OmitZero  bool  // ",omitzero": omit zero values (or those whose IsZero says so)
	Quoted    bool  // ",string" on a bool, number or string: written as a JSON string
	Type      reflect.Type
}

// Rules say how a struct's tags are read.
type Rules struct {
	// Tags are the struct tag keys consulted in order; the first present one
	// names the field and gives its options.
	Tags []string
	// ValidNames ignores a tag name encoding/json would refuse (one with
	// characters other than letters, digits and its allowed punctuation): the
	// field keeps its Go name, as json.Marshal does.
	ValidNames bool
}

// Fields returns the fields of struct type t, in order, by encoding/json's
// rules: exported fields and the promoted fields of embedded structs (by value
// or through a pointer), walked breadth-first, named by their tag, else the Go
// name; "-" skips a field. Of fields of the same name the shallowest wins, then
// the tagged one; an unresolved tie drops the name. Fields is not cached: the
// callers cache what they build from it.
func (r Rules) Fields(t reflect.Type) []Field {
	type todo struct {
		typ   reflect.Type
		index []int
	}
	var fields []Field
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
				tag := r.tag(sf.Tag)
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if r.ValidNames && !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(c.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := Field{Name: name, Tagged: name != "", Index: index, Type: sf.Type}
					if f.Name == "" {
						f.Name = sf.Name
					}
					for opt := range strings.SplitSeq(opts, ",") {
						switch opt {
						case "omitempty":
							f.OmitEmpty = true
						case "omitzero":
							f.OmitZero = true
						case "string":
							switch ft.Kind() {
							case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
								reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
								reflect.Float32, reflect.Float64, reflect.String:
								f.Quoted = true
							}
						}
					}
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
	slices.SortStableFunc(fields, func(a, b Field) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Index), len(b.Index)); c != 0 {
			return c
		}
		if a.Tagged != b.Tagged {
			if a.Tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Index, b.Index)
	})
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].Name == fields[i].Name {
			j++
		}
		group := fields[i:j]
		if len(group) == 1 || len(group[0].Index) < len(group[1].Index) || group[0].Tagged && !group[1].Tagged {
			out = append(out, group[0])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b Field) int { return slices.Compare(a.Index, b.Index) })
	return out
}

// tag returns the first of r.Tags present in st, else "".
func (r Rules) tag(st reflect.StructTag) string {
	for _, key := range r.Tags {
		if tag, ok := st.Lookup(key); ok {
			return tag
		}
	}
	return ""
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

// ByIndex follows index through embedded structs; ok is false when it passes
// through a nil embedded pointer. With alloc (decoding) such a pointer is
// allocated instead, when it can be set.
func ByIndex(v reflect.Value, index []int, alloc bool) (reflect.Value, bool) {
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
