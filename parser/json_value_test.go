package parser_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/corvid-io/corvid/parser"
)

// binaryPacket decodes an EVENT "v" whose only argument is arg, with the given
// attachments.
func binaryArg(t *testing.T, arg string, atts ...[]byte) parser.Value {
	t.Helper()
	msgs := []parser.Message{}
	if len(atts) == 0 {
		msgs = append(msgs, text(`2["v",`+arg+`]`))
	} else {
		msgs = append(msgs, text(`5`+itoa(len(atts))+`-["v",`+arg+`]`))
		for _, a := range atts {
			msgs = append(msgs, parser.Message{Binary: true, Data: a})
		}
	}
	p := decodeAll(t, msgs...)
	if len(p.Args) != 1 {
		t.Fatalf("%d args", len(p.Args))
	}
	return p.Args[0].(parser.Value)
}

func TestValueDecodeAny(t *testing.T) {
	cases := []struct {
		arg  string
		atts [][]byte
		want any
	}{
		{`"s"`, nil, "s"},
		{`"esc\n\u00e9\ud83d\ude00\ud800"`, nil, "esc\né😀\uFFFD"},
		{`1.5`, nil, 1.5},
		{`-0`, nil, 0.0},
		{`1e400`, nil, nil}, // checked below: +Inf
		{`true`, nil, true},
		{`false`, nil, false},
		{`null`, nil, nil},
		{`[]`, nil, []any{}},
		{`{}`, nil, map[string]any{}},
		{`{"a":[1,"b",{"c":null}],"d":{"e":false}}`, nil, map[string]any{"a": []any{1.0, "b", map[string]any{"c": nil}}, "d": map[string]any{"e": false}}},
		{ph(0), [][]byte{{1, 2}}, []byte{1, 2}},
		{`{"a":[` + ph(1) + `],"b":` + ph(0) + `}`, [][]byte{{1}, {2}}, map[string]any{"a": []any{[]byte{2}}, "b": []byte{1}}},
		{`[ {"num" : 0 , "_placeholder" : true} ]`, [][]byte{{7}}, []any{[]byte{7}}},
		{`{"_placeholder":false,"num":0}`, nil, map[string]any{"_placeholder": false, "num": 0.0}},
	}
	for _, tc := range cases {
		v := binaryArg(t, tc.arg, tc.atts...)
		var got any
		if err := v.Decode(&got); err != nil {
			t.Fatalf("%s: %v", tc.arg, err)
		}
		if tc.arg == `1e400` {
			if f, ok := got.(float64); !ok || f < 1e308 {
				t.Errorf("%s: %#v", tc.arg, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.arg, got, tc.want)
		}
		// Without placeholders, the result is json.Unmarshal's.
		if tc.atts == nil {
			var std any
			if err := json.Unmarshal([]byte(tc.arg), &std); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, std) {
				t.Errorf("%s: got %#v, encoding/json %#v", tc.arg, got, std)
			}
		}
	}
}

type fileMsg struct {
	Name  string   `json:"name"`
	Data  []byte   `json:"data"`
	Parts [][]byte `json:"parts"`
	Meta  any      `json:"meta"`
	List  []any    `json:"list"`
	Map   map[string]any
	Inner *struct {
		Blob []byte `json:"blob"`
		Any  any    `json:"any"`
	} `json:"inner"`
}

func TestValueDecodeTyped(t *testing.T) {
	atts := [][]byte{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}}
	arg := `{"name":"f","data":` + ph(0) + `,"parts":[` + ph(1) + `,` + ph(2) + `],"meta":{"x":` + ph(3) + `},` +
		`"list":[1,` + ph(4) + `],"map":{"k":` + ph(5) + `},"inner":{"blob":` + ph(6) + `,"any":[` + ph(7) + `]}}`
	v := binaryArg(t, arg, atts...)
	var m fileMsg
	if err := v.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "f" || !bytes.Equal(m.Data, []byte{0}) || len(m.Parts) != 2 || !bytes.Equal(m.Parts[1], []byte{2}) {
		t.Errorf("fields: %+v", m)
	}
	if !reflect.DeepEqual(m.Meta, map[string]any{"x": []byte{3}}) {
		t.Errorf("Meta = %#v", m.Meta)
	}
	if !reflect.DeepEqual(m.List, []any{1.0, []byte{4}}) {
		t.Errorf("List = %#v", m.List)
	}
	if !reflect.DeepEqual(m.Map, map[string]any{"k": []byte{5}}) { // matched case-insensitively
		t.Errorf("Map = %#v", m.Map)
	}
	if m.Inner == nil || !bytes.Equal(m.Inner.Blob, []byte{6}) || !reflect.DeepEqual(m.Inner.Any, []any{[]byte{7}}) {
		t.Errorf("Inner = %#v", m.Inner)
	}

	var b []byte
	if err := binaryArg(t, ph(0), []byte("raw")).Decode(&b); err != nil || string(b) != "raw" {
		t.Errorf("*[]byte: %q %v", b, err)
	}
	var bs [][]byte
	if err := binaryArg(t, `[`+ph(1)+`,`+ph(0)+`]`, []byte("a"), []byte("b")).Decode(&bs); err != nil ||
		len(bs) != 2 || string(bs[0]) != "b" || string(bs[1]) != "a" {
		t.Errorf("*[][]byte: %q %v", bs, err)
	}
	var mb map[string][]byte
	if err := binaryArg(t, `{"k":`+ph(0)+`}`, []byte("z")).Decode(&mb); err != nil || string(mb["k"]) != "z" {
		t.Errorf("map[string][]byte: %q %v", mb, err)
	}
	var ml map[string][]any
	if err := binaryArg(t, `{"k":[`+ph(0)+`]}`, []byte("z")).Decode(&ml); err != nil ||
		!reflect.DeepEqual(ml, map[string][]any{"k": {[]byte("z")}}) {
		t.Errorf("map[string][]any: %#v %v", ml, err)
	}
	var raw json.RawMessage
	if err := binaryArg(t, `{"k":`+ph(0)+`}`, []byte("z")).Decode(&raw); err != nil || string(raw) != `{"k":"eg=="}` {
		t.Errorf("json.RawMessage: %s %v", raw, err)
	}

	// Scalars and their fast paths.
	var s string
	var f float64
	var ok bool
	var n int
	if err := binaryArg(t, `"h\u00e9"`).Decode(&s); err != nil || s != "hé" {
		t.Errorf("string: %q %v", s, err)
	}
	if err := binaryArg(t, `2.5`).Decode(&f); err != nil || f != 2.5 {
		t.Errorf("float64: %v %v", f, err)
	}
	if err := binaryArg(t, `true`).Decode(&ok); err != nil || !ok {
		t.Errorf("bool: %v %v", ok, err)
	}
	if err := binaryArg(t, `42`).Decode(&n); err != nil || n != 42 {
		t.Errorf("int: %v %v", n, err)
	}
	// Mismatches are json.Unmarshal's errors.
	var ute *json.UnmarshalTypeError
	if err := binaryArg(t, `"x"`).Decode(&n); !errors.As(err, &ute) {
		t.Errorf("string into int: %v", err)
	}
	if err := binaryArg(t, `{}`).Decode(&s); !errors.As(err, &ute) {
		t.Errorf("object into string: %v", err)
	}
	if err := binaryArg(t, `1`).Decode(nil); err == nil {
		t.Error("Decode(nil) succeeded")
	}
	if err := binaryArg(t, `1`).Decode(n); err == nil {
		t.Error("Decode(non-pointer) succeeded")
	}
}

func TestConnectDataDecode(t *testing.T) {
	p := decodeAll(t, text(`0/admin,{"token":"abc","n":1}`))
	var auth struct {
		Token string `json:"token"`
		N     int    `json:"n"`
	}
	if err := p.Data.(parser.Value).Decode(&auth); err != nil || auth.Token != "abc" || auth.N != 1 {
		t.Fatalf("%+v %v", auth, err)
	}
	p = decodeAll(t, text(`4"refused"`))
	var any1 any
	if err := p.Data.(parser.Value).Decode(&any1); err != nil || any1 != "refused" {
		t.Fatalf("%#v %v", any1, err)
	}
}

// foreign is a Value of another parser.
type foreign struct{ v any }

func (f foreign) Decode(v any) error {
	reflect.ValueOf(v).Elem().Set(reflect.ValueOf(f.v))
	return nil
}

func TestForwardValues(t *testing.T) {
	// An echo: the received arguments are sent back in an ACK; placeholders are
	// renumbered into the new packet and whitespace is dropped.
	in := decodeAll(t, text(`53-7["echo",{ "b" : `+ph(2)+` },[`+ph(0)+`],"s",`+ph(1)+`]`), bin(10), bin(11), bin(12))
	out := &parser.Packet{Type: parser.Ack, ID: in.ID, HasID: true, Args: append([]any{[]byte{9}}, in.Args...)}
	msgs, err := parser.JSON.Encode(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `64-7[` + ph(0) + `,{"b":` + ph(1) + `},[` + ph(2) + `],"s",` + ph(3) + `]`
	if string(msgs[0].Data) != want {
		t.Fatalf("got  %s\nwant %s", msgs[0].Data, want)
	}
	for i, w := range [][]byte{{9}, {12}, {10}, {11}} {
		if !bytes.Equal(msgs[1+i].Data, w) {
			t.Errorf("attachment %d = %v, want %v", i, msgs[1+i].Data, w)
		}
	}
	// Another parser's Value goes through Decode(&any).
	p := &parser.Packet{Type: parser.Event, Event: "f", Args: []any{foreign{map[string]any{"x": []byte{1}}}}}
	msgs, err = parser.JSON.Encode(p)
	if err != nil || string(msgs[0].Data) != `51-["f",{"x":`+ph(0)+`}]` || len(msgs) != 2 {
		t.Fatalf("%v %v", msgs, err)
	}
	// A Value as CONNECT data.
	c := decodeAll(t, text(`0{"token":"t"}`))
	msgs, err = parser.JSON.Encode(&parser.Packet{Type: parser.Connect, Namespace: "/x", Data: c.Data})
	if err != nil || string(msgs[0].Data) != `0/x,{"token":"t"}` {
		t.Fatalf("%v %v", msgs, err)
	}
}

func TestValueMarshalJSON(t *testing.T) {
	v := binaryArg(t, `{"a":[1, `+ph(0)+`]}`, []byte("hi"))
	b, err := json.Marshal(map[string]any{"v": v})
	if err != nil || string(b) != `{"v":{"a":[1,"aGk="]}}` {
		t.Fatalf("%s %v", b, err)
	}
	if s := fmt.Sprint(v); s != `{"a":[1, `+ph(0)+`]}` {
		t.Fatalf("String() = %s", s)
	}
}

func TestValueDecodeFastPaths(t *testing.T) {
	var l []any
	if err := binaryArg(t, `[1,"a",`+ph(0)+`]`, []byte{7}).Decode(&l); err != nil || !reflect.DeepEqual(l, []any{1.0, "a", []byte{7}}) {
		t.Errorf("*[]any: %#v %v", l, err)
	}
	var m map[string]any
	if err := binaryArg(t, `{"k":[`+ph(0)+`]}`, []byte{7}).Decode(&m); err != nil || !reflect.DeepEqual(m, map[string]any{"k": []any{[]byte{7}}}) {
		t.Errorf("*map[string]any: %#v %v", m, err)
	}
	// Like json.Unmarshal, an existing map is added to.
	m = map[string]any{"old": true}
	if err := binaryArg(t, `{"new":1}`).Decode(&m); err != nil || !reflect.DeepEqual(m, map[string]any{"old": true, "new": 1.0}) {
		t.Errorf("existing map: %#v %v", m, err)
	}
	var n int
	var n64 int64
	if err := binaryArg(t, `-12`).Decode(&n); err != nil || n != -12 {
		t.Errorf("*int: %v %v", n, err)
	}
	if err := binaryArg(t, `9007199254740993`).Decode(&n64); err != nil || n64 != 9007199254740993 {
		t.Errorf("*int64: %v %v", n64, err)
	}
	var ute *json.UnmarshalTypeError
	if err := binaryArg(t, `1.5`).Decode(&n); !errors.As(err, &ute) {
		t.Errorf("1.5 into int: %v", err)
	}
	if err := binaryArg(t, `99999999999999999999`).Decode(&n64); !errors.As(err, &ute) {
		t.Errorf("overflow into int64: %v", err)
	}
	if err := binaryArg(t, `{}`).Decode(&l); !errors.As(err, &ute) {
		t.Errorf("object into []any: %v", err)
	}
}
