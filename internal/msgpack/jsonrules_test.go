package msgpack

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

type jrMeta struct {
	ID   int    `json:"id"`
	Note string `json:"note"`
}

type jrA struct{ X, Y int }
type jrB struct {
	X int
	Y int `json:"Y"`
}

type jrZero struct{ n int }

func (z jrZero) IsZero() bool { return z.n == 0 }

type jrStruct struct {
	*jrMeta                    // promoted through a pointer
	jrA                        // X: tie with jrB's, dropped
	jrB                        // Y: tagged, wins
	Name    string             `json:"name"`
	Note    string             `json:"note"` // shallower than jrMeta's
	Count   uint8              `json:"count,string"`
	Flag    bool               `json:"flag,string"`
	Quoted  string             `json:"quoted,string"`
	Addr    netip.Addr         `json:"addr"` // a TextMarshaler
	When    time.Time          `json:"when,omitzero"`
	Zero    jrZero             `json:"zero,omitzero"`
	Ratio   float32            `json:"ratio"`
	Num     json.Number        `json:"num"`
	Nil     []byte             `json:"nil"`
	Items   map[string]float32 `json:"items"`
	Skip    int                `json:"-"`
	Rename  int                `msgpack:"renamed"`
	private int
}

// TestStructsFollowJSON checks that a struct without binary reaches a msgpack
// peer as it reaches a JSON one (encoding/json, which the JSON parser
// follows): the same members with the same values.
func TestStructsFollowJSON(t *testing.T) {
	for _, v := range []jrStruct{
		{Name: "n", Note: "outer", Count: 7, Flag: true, Quoted: `a"b`, Addr: netip.MustParseAddr("10.0.0.1"),
			Ratio: 0.1, Num: "12", Items: map[string]float32{"a": 1.1}, Skip: 1, Rename: 2, private: 3},
		{jrMeta: &jrMeta{ID: 4, Note: "inner"}, jrA: jrA{1, 2}, jrB: jrB{3, 4}, Zero: jrZero{1},
			When: time.Unix(1, 0).UTC(), Num: "1.5", Nil: []byte{}},
	} {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if err := Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want any
		json.Unmarshal(j, &want)
		m := want.(map[string]any)
		delete(m, "Rename")
		m["renamed"] = float64(v.Rename) // the msgpack tag comes first
		if v.Nil != nil {
			m["nil"] = []byte{} // binary, which JSON writes in base64
		}
		if w, ok := m["when"]; ok {
			m["when"] = v.When // the timestamp extension
			_ = w
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("msgpack %#v\nJSON    %#v", got, want)
		}

		// And back into the struct: ",string" fields, TextMarshalers and
		// json.Numbers decode from what the encoder wrote.
		var back jrStruct
		if err := Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Count != v.Count || back.Flag != v.Flag || back.Quoted != v.Quoted || back.Addr != v.Addr ||
			back.Num != v.Num || back.Ratio != v.Ratio || back.jrB.Y != v.jrB.Y || back.Note != v.Note {
			t.Errorf("decoded %+v\nwant    %+v", back, v)
		}
	}
}
