package structfields

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type inner struct {
	A int
	B int `json:"b"`
	C int
}

type other struct {
	A int // ties with inner's A at the same depth: dropped
	C int `json:"C"` // tagged: wins over inner's C at the same depth
}

type deep struct{ D int }

type mid struct{ deep }

type twice struct{ E int }

type (
	twiceA struct{ twice }
	twiceB struct{ twice }
)

type hidden struct{ H int }

type sample struct {
	inner
	*other
	mid
	twiceA
	twiceB           // twice's E reached twice at one depth: annihilated
	hidden           // unexported embedded struct: its exported fields promote
	B      int       // not inner's "b": names are case-sensitive
	Dash   int       `json:"-,"` //lint:ignore SA5008 "-," names the field "-", as encoding/json does
	Skip   int       `json:"-"`
	Bad    int       `json:"a\"b"` //lint:ignore SA5008 an invalid name on purpose: the Go name with ValidNames
	Opts   int       `json:"opts,omitempty,omitzero,string"`
	Slice  []int     `json:",string"` //lint:ignore SA5008 not quotable, on purpose: the option is ignored
	Ptr    *string   `json:",string"`
	Pack   int       `msgpack:"packed" json:"jsonName"`
	Iface  any       `json:"iface,omitempty"`
	named  int       //lint:ignore U1000 unexported: the resolution must skip it
	Nested *struct{} `json:"nested"`
}

func names(fs []Field) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

// TestFieldsFollowJSON checks the names and order against json.Marshal's.
func TestFieldsFollowJSON(t *testing.T) {
	s := "s"
	v := sample{inner: inner{1, 2, 3}, other: &other{4, 5}, mid: mid{deep{6}}, hidden: hidden{7}, B: 8, Dash: 9,
		Bad: 10, Opts: 11, Slice: []int{1}, Ptr: &s, Pack: 12, Iface: 1, Nested: &struct{}{}}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var want []string
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		want = append(want, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	got := names(Rules{Tags: []string{"json"}, ValidNames: true}.Fields(reflect.TypeOf(v)))
	if !slices.Equal(got, want) {
		t.Errorf("names %q, want %q (json.Marshal)", got, want)
	}
	fs := Rules{Tags: []string{"msgpack", "json"}}.Fields(reflect.TypeOf(v))
	byName := map[string]Field{}
	for _, f := range fs {
		byName[f.Name] = f
	}
	if _, ok := byName["packed"]; !ok {
		t.Errorf("msgpack tag not preferred: %q", names(fs))
	}
	if _, ok := byName[`a"b`]; !ok {
		t.Errorf("without ValidNames the tag name is kept: %q", names(fs))
	}
	if f := byName["opts"]; !f.OmitEmpty || !f.OmitZero || !f.Quoted || !f.Tagged {
		t.Errorf("opts = %+v", f)
	}
	if byName["Slice"].Quoted || !byName["Ptr"].Quoted || byName["Ptr"].Tagged {
		t.Errorf("Slice %+v, Ptr %+v", byName["Slice"], byName["Ptr"])
	}
}

type Exported struct{ X int }

func TestByIndex(t *testing.T) {
	type withPtrs struct {
		*other
		*Exported
	}
	v := reflect.ValueOf(&withPtrs{}).Elem()
	for _, alloc := range []bool{false, true} {
		if _, ok := ByIndex(v, []int{0, 1}, alloc); ok {
			t.Errorf("alloc %v: through a nil pointer to an unexported struct: ok", alloc)
		}
	}
	if _, ok := ByIndex(v, []int{1, 0}, false); ok {
		t.Error("through a nil pointer without alloc: ok")
	}
	fv, ok := ByIndex(v, []int{1, 0}, true)
	if !ok {
		t.Fatal("with alloc: not ok")
	}
	fv.SetInt(3)
	if v.Interface().(withPtrs).X != 3 {
		t.Error("not set")
	}
}
