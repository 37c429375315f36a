package parser_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/parser"
)

var pointOne = 0.1

func ph(n int) string { return `{"_placeholder":true,"num":` + string(rune('0'+n)) + `}` }

type encodeCase struct {
	name string
	p    parser.Packet
	text string
	atts [][]byte
}

var encodeCases = []encodeCase{
	// The examples of protocols.md (b), Engine.IO prefix '4' left out.
	{"connect main", parser.Packet{Type: parser.Connect}, `0`, nil},
	{"connect slash", parser.Packet{Type: parser.Connect, Namespace: "/"}, `0`, nil},
	{"connect admin sid", parser.Packet{Type: parser.Connect, Namespace: "/admin", Data: map[string]any{"sid": "x"}}, `0/admin,{"sid":"x"}`, nil},
	{"connect auth", parser.Packet{Type: parser.Connect, Data: map[string]any{"token": "123"}}, `0{"token":"123"}`, nil},
	{"connect custom auth", parser.Packet{Type: parser.Connect, Namespace: "/custom", Data: map[string]any{"token": "abc"}}, `0/custom,{"token":"abc"}`, nil},
	{"event", parser.Packet{Type: parser.Event, Event: "foo"}, `2["foo"]`, nil},
	{"event admin", parser.Packet{Type: parser.Event, Namespace: "/admin", Event: "bar"}, `2/admin,["bar"]`, nil},
	{"event ack id", parser.Packet{Type: parser.Event, Event: "foo", ID: 12, HasID: true}, `212["foo"]`, nil},
	{"ack admin", parser.Packet{Type: parser.Ack, Namespace: "/admin", ID: 13, HasID: true, Args: []any{"bar"}}, `3/admin,13["bar"]`, nil},
	{"connect error", parser.Packet{Type: parser.ConnectError, Data: map[string]any{"message": "Not authorized"}}, `4{"message":"Not authorized"}`, nil},
	{"connect error random", parser.Packet{Type: parser.ConnectError, Namespace: "/random", Data: map[string]any{"message": "Invalid namespace"}}, `4/random,{"message":"Invalid namespace"}`, nil},
	{"connect error string", parser.Packet{Type: parser.ConnectError, Data: "nope"}, `4"nope"`, nil},
	{"disconnect", parser.Packet{Type: parser.Disconnect}, `1`, nil},
	{"disconnect admin", parser.Packet{Type: parser.Disconnect, Namespace: "/admin"}, `1/admin,`, nil},
	{"binary event", parser.Packet{Type: parser.Event, Event: "baz", Args: []any{[]byte{1, 2, 3, 4}}},
		`51-["baz",` + ph(0) + `]`, [][]byte{{1, 2, 3, 4}}},
	{"binary ack", parser.Packet{Type: parser.Ack, ID: 15, HasID: true, Args: []any{"bar", []byte{5}}},
		`61-15["bar",` + ph(0) + `]`, [][]byte{{5}}},
	{"admin binary ack", parser.Packet{Type: parser.Ack, Namespace: "/admin", ID: 7, HasID: true, Args: []any{[]byte{9}}},
		`61-/admin,7[` + ph(0) + `]`, [][]byte{{9}}},
	// Socket.IO suite S24-S29 replies.
	{"S26", parser.Packet{Type: parser.Event, Event: "message-back", Args: []any{1, "2", map[string]any{"3": []any{true}}}},
		`2["message-back",1,"2",{"3":[true]}]`, nil},
	{"S27", parser.Packet{Type: parser.Event, Event: "message-back", Args: []any{[]byte{1, 2, 3}, []byte{4, 5, 6}}},
		`52-["message-back",` + ph(0) + `,` + ph(1) + `]`, [][]byte{{1, 2, 3}, {4, 5, 6}}},
	{"S28", parser.Packet{Type: parser.Ack, ID: 456, HasID: true, Args: []any{1, "2", map[string]any{"3": []any{false}}}},
		`3456[1,"2",{"3":[false]}]`, nil},
	{"S29", parser.Packet{Type: parser.Ack, ID: 789, HasID: true, Args: []any{[]byte{1, 2, 3}, []byte{4, 5, 6}}},
		`62-789[` + ph(0) + `,` + ph(1) + `]`, [][]byte{{1, 2, 3}, {4, 5, 6}}},
	{"empty ack", parser.Packet{Type: parser.Ack, ID: 1, HasID: true}, `31[]`, nil},
	{"ack id 0", parser.Packet{Type: parser.Ack, ID: 0, HasID: true, Args: []any{nil}}, `30[null]`, nil},
	{"binary type without binary", parser.Packet{Type: parser.BinaryEvent, Event: "x", Args: []any{1}}, `2["x",1]`, nil},
	{"binary ack type without binary", parser.Packet{Type: parser.BinaryAck, ID: 2, HasID: true}, `32[]`, nil},
	{"nested binary order", parser.Packet{Type: parser.Event, Event: "n", Args: []any{
		map[string]any{"b": []any{[]byte{2}}, "a": []byte{1}}, []any{[]byte{3}}}},
		`53-["n",{"a":` + ph(0) + `,"b":[` + ph(1) + `]},[` + ph(2) + `]]`, [][]byte{{1}, {2}, {3}}},
	{"many attachments", parser.Packet{Type: parser.Event, Event: "m", Args: []any{
		[]byte{0}, []byte{1}, []byte{2}, []byte{3}, []byte{4}, []byte{5}, []byte{6}, []byte{7}, []byte{8}, []byte{9}, []byte{10}}},
		`511-["m",` + strings.Repeat("X,", 0) + placeholders(11) + `]`,
		[][]byte{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}}},
	// JSON.stringify's formatting.
	{"numbers", parser.Packet{Type: parser.Event, Event: "n", Args: []any{
		1.0, 1.5, 1e21, 1e20, 1e-6, 1e-7, 1.5e-7, math.Copysign(0, -1), pointOne + 0.2, -12, uint64(math.MaxUint64),
		float32(0.1), math.NaN(), math.Inf(1), 123456789012345680000.0, 5e-324, math.MaxFloat64}},
		`2["n",1,1.5,1e+21,100000000000000000000,0.000001,1e-7,1.5e-7,0,0.30000000000000004,-12,18446744073709551615,` +
			`0.1,null,null,123456789012345680000,5e-324,1.7976931348623157e+308]`, nil},
	{"strings", parser.Packet{Type: parser.Event, Event: "s", Args: []any{
		"<a & b>", "\u2028\u2029", "q\"b\\s/", "\b\f\n\r\t\x00\x1f\x7f", "é😀", "\xed\xa0\x80", "\xed\xa0\xbd\xed\xb8\x80", "a\xffb"}},
		`2["s","<a & b>","` + "\u2028\u2029" + `","q\"b\\s/","\b\f\n\r\t\u0000\u001f` + "\x7f" + `","é😀","\ud800","😀","a` + "\uFFFD" + `b"]`, nil},
	{"event name escaped", parser.Packet{Type: parser.Event, Event: "a\"b"}, `2["a\"b"]`, nil},
	{"raw message compacted", parser.Packet{Type: parser.Event, Event: "r", Args: []any{json.RawMessage(" { \"a\" : [ 1 , \"x y\" ] } "), json.RawMessage(`[1]`)}},
		`2["r",{"a":[1,"x y"]},[1]]`, nil},
	{"json number", parser.Packet{Type: parser.Event, Event: "j", Args: []any{json.Number("1.50")}}, `2["j",1.50]`, nil},
	{"nil values", parser.Packet{Type: parser.Event, Event: "z", Args: []any{nil, []any(nil), map[string]any(nil), (*int)(nil), []byte(nil)}},
		`2["z",null,null,null,null,null]`, nil},
	{"typed values", parser.Packet{Type: parser.Event, Event: "t", Args: []any{
		[]string{"a"}, map[int]string{2: "b", 10: "a"}, [2]int{1, 2}, ptr(7), map[string][]byte{"k": {1}}}},
		`51-["t",["a"],{"2":"b","10":"a"},[1,2],7,{"k":` + ph(0) + `}]`, [][]byte{{1}}},
	{"struct", parser.Packet{Type: parser.Event, Event: "st", Args: []any{sample{
		Name: "n", Blob: []byte{1}, Blobs: [][]byte{{2}, {3}}, Inner: &inner{Deep: []byte{4}}, Count: 3,
		Embedded: Embedded{Promoted: "p"}, When: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), Any: []byte{5}}}},
		`55-["st",{"name":"n","blob":` + ph(0) + `,"blobs":[` + ph(1) + `,` + ph(2) + `],"inner":{"deep":` + ph(3) +
			`},"count":"3","promoted":"p","when":"2020-01-02T03:04:05Z","any":` + ph(4) + `}]`,
		[][]byte{{1}, {2}, {3}, {4}, {5}}},
	{"struct omitempty", parser.Packet{Type: parser.Event, Event: "st", Args: []any{sample{}}},
		`2["st",{"name":"","count":"0","promoted":"","when":"0001-01-01T00:00:00Z","any":null}]`, nil},
	{"js key order", parser.Packet{Type: parser.Event, Event: "k", Args: []any{map[string]any{"b": 1, "10": 2, "2": 3, "a": 4, "01": 5, "4294967295": 6, "4294967294": 7}}},
		`2["k",{"2":3,"10":2,"4294967294":7,"01":5,"4294967295":6,"a":4,"b":1}]`, nil},
	{"marshaler", parser.Packet{Type: parser.Event, Event: "m", Args: []any{marsh{}, &marsh{}, textM{}}}, `2["m",{"m":1},{"m":1},"T"]`, nil},
}

func placeholders(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"_placeholder":true,"num":`)
		b.WriteString(itoa(i))
		b.WriteByte('}')
	}
	return b.String()
}

func itoa(i int) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func ptr[T any](v T) *T { return &v }

type Embedded struct {
	Promoted string `json:"promoted"`
}

type inner struct {
	Deep []byte `json:"deep"`
}

type sample struct {
	Name    string   `json:"name"`
	Blob    []byte   `json:"blob,omitempty"`
	Blobs   [][]byte `json:"blobs,omitempty"`
	Inner   *inner   `json:"inner,omitempty"`
	Count   int      `json:"count,string"`
	Skipped string   `json:"-"`
	private int      //lint:ignore U1000 the encoder must skip it
	Embedded
	When time.Time `json:"when"`
	Any  any       `json:"any"`
}

type marsh struct{}

func (marsh) MarshalJSON() ([]byte, error) { return []byte(`{ "m" : 1 }`), nil }

type textM struct{}

func (textM) MarshalText() ([]byte, error) { return []byte("T"), nil }

func TestEncode(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			msgs, err := parser.JSON.Encode(&p)
			if err != nil {
				t.Fatal(err)
			}
			if msgs[0].Binary || string(msgs[0].Data) != tc.text {
				t.Errorf("text\n got %s\nwant %s", msgs[0].Data, tc.text)
			}
			if len(msgs)-1 != len(tc.atts) {
				t.Fatalf("%d attachments, want %d", len(msgs)-1, len(tc.atts))
			}
			for i, a := range tc.atts {
				if !msgs[1+i].Binary || string(msgs[1+i].Data) != string(a) {
					t.Errorf("attachment %d = %v, want %v", i, msgs[1+i], a)
				}
			}
			// AppendPacket appends after what dst holds.
			b, atts, err := parser.AppendPacket([]byte("prefix"), [][]byte{{0xff}}, &p)
			if err != nil || string(b) != "prefix"+tc.text || len(atts) != 1+len(tc.atts) {
				t.Errorf("AppendPacket = %q, %d attachments, %v", b, len(atts), err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	cases := []struct {
		name string
		p    parser.Packet
		kind error
	}{
		{"unknown type", parser.Packet{Type: 7}, parser.ErrUnknownType},
		{"namespace without slash", parser.Packet{Type: parser.Event, Namespace: "admin", Event: "x"}, parser.ErrInvalidNamespace},
		{"namespace with comma", parser.Packet{Type: parser.Event, Namespace: "/a,b", Event: "x"}, parser.ErrInvalidNamespace},
		{"reserved event", parser.Packet{Type: parser.Event, Event: "disconnect"}, parser.ErrReservedEvent},
		{"reserved event 2", parser.Packet{Type: parser.Event, Event: "newListener"}, parser.ErrReservedEvent},
		{"connect array", parser.Packet{Type: parser.Connect, Data: []any{1}}, parser.ErrInvalidPayload},
		{"connect string", parser.Packet{Type: parser.Connect, Data: "x"}, parser.ErrInvalidPayload},
		{"connect binary", parser.Packet{Type: parser.Connect, Data: map[string]any{"b": []byte{1}}}, parser.ErrUnsupportedValue},
		{"connect error empty", parser.Packet{Type: parser.ConnectError}, parser.ErrInvalidPayload},
		{"connect error number", parser.Packet{Type: parser.ConnectError, Data: 1}, parser.ErrInvalidPayload},
		{"channel", parser.Packet{Type: parser.Event, Event: "x", Args: []any{make(chan int)}}, parser.ErrUnsupportedValue},
		{"func in struct", parser.Packet{Type: parser.Event, Event: "x", Args: []any{struct{ F func() }{}}}, parser.ErrUnsupportedValue},
		{"cycle", parser.Packet{Type: parser.Event, Event: "x", Args: []any{cyclic}}, parser.ErrUnsupportedValue},
		{"bad raw", parser.Packet{Type: parser.Event, Event: "x", Args: []any{json.RawMessage(`{`)}}, parser.ErrUnsupportedValue},
		{"raw with trailing", parser.Packet{Type: parser.Event, Event: "x", Args: []any{json.RawMessage(`1 2`)}}, parser.ErrUnsupportedValue},
		{"forged placeholder", parser.Packet{Type: parser.Event, Event: "x", Args: []any{json.RawMessage(`{"_placeholder":true,"num":0}`)}}, parser.ErrPlaceholder},
		{"bad json number", parser.Packet{Type: parser.Event, Event: "x", Args: []any{json.Number("1x")}}, parser.ErrUnsupportedValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, atts, err := parser.AppendPacket([]byte("keep"), nil, &tc.p)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			var pe *parser.Error
			if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "parser: ") {
				t.Errorf("err %v is not a *parser.Error with the package prefix", err)
			}
			if string(b) != "keep" || len(atts) != 0 {
				t.Errorf("dst/atts changed on error: %q %d", b, len(atts))
			}
		})
	}
	// An error from a MarshalJSON method is returned as it is.
	boom := errors.New("boom")
	p := parser.Packet{Type: parser.Event, Event: "x", Args: []any{failing{boom}}}
	if _, err := parser.JSON.Encode(&p); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
}

type failing struct{ err error }

func (f failing) MarshalJSON() ([]byte, error) { return nil, f.err }

// The encoder's output for values encoding/json also handles must be valid
// JSON that encoding/json reads back to the same thing.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	values := []any{
		map[string]any{"z": 1.0, "a": []any{"x", true, nil}, "m": map[string]any{"k": "v"}},
		[]int{1, 2, 3}, struct {
			A int `json:"a,omitempty"`
			B string
		}{B: "b"}, "tab\there", 3.25, -7.0, map[string]int{"b": 1, "a": 2},
	}
	for _, v := range values {
		p := parser.Packet{Type: parser.Ack, Args: []any{v}}
		b, _, err := parser.AppendPacket(nil, nil, &p)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal([]any{v})
		if string(b[1:]) != string(want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, b[1:], want)
		}
	}
}

func TestAppendPacketAllocs(t *testing.T) {
	p := &parser.Packet{Type: parser.Event, Namespace: "/chat", ID: 42, HasID: true, Event: "message",
		Args: []any{"hello world", 12, 3.5, true, nil, []any{"a", 1}, map[string]any{"k": "v", "n": 1}}}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(200, func() {
		b, _, err := parser.AppendPacket(buf[:0], nil, p)
		if err != nil || len(b) == 0 {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendPacket of a text packet: %v allocations, want 0", allocs)
	}
	bin := &parser.Packet{Type: parser.Event, Event: "file", Args: []any{[]byte("data"), "name"}}
	attBuf := make([][]byte, 0, 4)
	allocs = testing.AllocsPerRun(200, func() {
		_, atts, err := parser.AppendPacket(buf[:0], attBuf[:0], bin)
		if err != nil || len(atts) != 1 {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendPacket of a binary packet into buffers with room: %v allocations, want 0", allocs)
	}
	// Forwarding received values costs nothing either.
	dec := parser.JSON.NewDecoder()
	in, err := dec.Add(parser.Message{Data: []byte(`2["echo",{"a":[1,2]},"x",3]`)})
	if err != nil {
		t.Fatal(err)
	}
	out := &parser.Packet{Type: parser.Ack, ID: 1, HasID: true, Args: in.Args}
	allocs = testing.AllocsPerRun(200, func() {
		b, _, err := parser.AppendPacket(buf[:0], nil, out)
		if err != nil || string(b) != `31[{"a":[1,2]},"x",3]` {
			t.Fatalf("%s %v", b, err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendPacket forwarding Values: %v allocations, want 0", allocs)
	}
}

type Base struct {
	ID   int    `json:"id"`
	Name string // conflicts with Outer.Name: the shallower wins
	Dup  string // at the same depth as Other.Dup: dropped
}

type Other struct {
	Dup   string
	Extra float64 `json:"extra,omitempty"`
}

type tagged struct {
	X int `json:"x"`
}

type Outer struct {
	Base
	*Other
	tagged
	Name    string            `json:"Name"`
	Opt     *int              `json:"opt,omitempty"`
	Zero    time.Time         `json:"zero,omitzero"`
	Num     int64             `json:"num,string"`
	Flag    bool              `json:",string"`
	Str     string            `json:"str,string"`
	Iface   any               `json:"iface"`
	Nested  map[string][]int  `json:"nested"`
	Arr     [3]uint8          `json:"arr"`
	Texts   map[textKey]int   `json:"texts"`
	Ptrs    []*int            `json:"ptrs"`
	Empty   []string          `json:"empty"`
	NilMap  map[string]string `json:"nilmap"`
	Dash    int               `json:"-,"` //lint:ignore SA5008 "-," names the field "-", as encoding/json does
	Skip    int               `json:"-"`
	unexpor int               //lint:ignore U1000 the encoder must skip it
}

type textKey struct{ s string }

func (k textKey) MarshalText() ([]byte, error) { return []byte("k-" + k.s), nil }

func TestEncodeStructsMatchEncodingJSON(t *testing.T) {
	one := 1
	values := []any{
		Outer{Base: Base{ID: 1, Name: "inner", Dup: "d"}, Other: &Other{Dup: "o", Extra: 2.5}, tagged: tagged{X: 3},
			Name: "outer", Opt: &one, Num: 1 << 40, Flag: true, Str: "s\"q", Iface: []any{1, "x"},
			Nested: map[string][]int{"b": {1}, "a": nil}, Arr: [3]uint8{1, 2, 3},
			Texts: map[textKey]int{{"b"}: 2, {"a"}: 1}, Ptrs: []*int{&one, nil}, Empty: []string{}, Dash: 4, Skip: 5},
		Outer{},
		&Outer{Zero: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)},
		[]Base{{ID: 1}, {ID: 2, Name: "<&>"}},
	}
	for _, v := range values {
		p := parser.Packet{Type: parser.Ack, Args: []any{v}}
		b, atts, err := parser.AppendPacket(nil, nil, &p)
		if err != nil || len(atts) != 0 {
			t.Fatal(err, len(atts))
		}
		var want strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode([]any{v}); err != nil {
			t.Fatal(err)
		}
		if got := string(b[1:]); got != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("%T:\n got %s\nwant %s", v, got, want.String())
		}
	}
}
