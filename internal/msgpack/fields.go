package msgpack

import (
	"reflect"
	"strings"
	"sync"

	"github.com/corvid-io/corvid/internal/structfields"
)

// field is one encoded struct field.
type field struct {
	structfields.Field
	key []byte // name encoded as a msgpack string
}

type structInfo struct {
	fields []field
	byName map[string]int // exact names
}

var structCache sync.Map // reflect.Type -> *structInfo

// fieldRules read the `msgpack` tag, else the `json` one.
var fieldRules = structfields.Rules{Tags: []string{"msgpack", "json"}}

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
	fs := fieldRules.Fields(t)
	si := &structInfo{fields: make([]field, len(fs)), byName: map[string]int{}}
	for i, f := range fs {
		si.fields[i] = field{Field: f, key: AppendString(nil, f.Name)}
		si.byName[f.Name] = i
	}
	si2, _ := structCache.LoadOrStore(t, si)
	return si2.(*structInfo)
}

// lookupBytes finds the field for key: an exact match, else a
// case-insensitive one (as encoding/json does).
func (si *structInfo) lookupBytes(key []byte) *field {
	if i, ok := si.byName[string(key)]; ok {
		return &si.fields[i]
	}
	for i := range si.fields {
		if strings.EqualFold(si.fields[i].Name, string(key)) {
			return &si.fields[i]
		}
	}
	return nil
}
