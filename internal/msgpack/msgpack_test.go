package msgpack

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

type roomOpts struct {
	Rooms  []string       `json:"rooms"`
	Except []string       `json:"except"`
	Flags  map[string]any `json:"flags"`
}

type eventPacket struct {
	Type int    `json:"type"`
	Data []any  `json:"data"`
	Nsp  string `json:"nsp"`
}

// goldenEncode are notepack.io 3.0.1 encodings (reference notes, section 7, plus
// values generated with node for the cases the notes do not list).
var goldenEncode = []struct {
	name string
	v    any
	hex  string
}{
	{"emitter broadcast", []any{"emitter", eventPacket{2, []any{"hi"}, "/"}, struct {
		Rooms  []string       `json:"rooms"`
		Flags  map[string]any `json:"flags"`
		Except []string       `json:"except"`
	}{[]string{}, map[string]any{}, []string{}}},
		"93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"},
	{"adapter broadcast with binary", []any{"abc123", eventPacket{2, []any{"test", 1, "2", []byte{3, 4}}, "/"}, roomOpts{[]string{"room1"}, []string{}, map[string]any{}}},
		"93a661626331323383a47479706502a46461746194a47465737401a132c4020304a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380"},
	{"1.5", 1.5, "cb3ff8000000000000"},
	{"-1", -1, "ff"},
	{"-33", -33, "d0df"},
	{"255", 255, "ccff"},
	{"65536", 65536, "ce00010000"},
	{"2^32", int64(1) << 32, "cf0000000100000000"},
	{"2^53-1", int64(1)<<53 - 1, "cf001fffffffffffff"},
	{"-2^31-1", int64(-1)<<31 - 1, "d3ffffffff7fffffff"},
	{"+Inf", math.Inf(1), "cb7ff0000000000000"},
	{"NaN", math.NaN(), "cb7ff8000000000000"},
	{"-1.5", -1.5, "cbbff8000000000000"},
	{"-0", math.Copysign(0, -1), "00"},
	{"float 2^63", math.Pow(2, 63), "cf8000000000000000"},
	{"float 2^64-2048", math.Pow(2, 64) - 2048, "cffffffffffffff800"},
	{"-2^63", int64(math.MinInt64), "d38000000000000000"},
	{"float 3", 3.0, "03"},
	{"float32 2", float32(2), "02"},
	{"omitted undefined", struct {
		A any `json:"a,omitempty"`
		B any `json:"b"`
	}{nil, nil}, "81a162c0"},
	{"[nil]", []any{nil}, "91c0"},
	{"date 2000-06-13", time.Date(2000, 6, 13, 0, 0, 0, 0, time.UTC), "d6ff39457980"},
	{"date ms", time.UnixMilli(1700000000123), "d7ff1d5353006553f100"},
	{"date -1ms", time.UnixMilli(-1), "c70cff3b8b87c0ffffffffffffffff"},
	{"date 2^34 s", time.Unix(1<<34, 0), "c70cff000000000000000400000000"},
	{"bin", []byte{1, 2}, "c4020102"},
	{"é", "é", "a2c3a9"},
	{"sorted map", map[string]any{"b": 1, "a": []any{1, 2, map[string]any{}}, "c": nil}, "83a16193010280a16201a163c0"},
	{"true false", []bool{true, false}, "92c3c2"},
	{"uint16", uint16(300), "cd012c"},
	{"int8 min", int8(-128), "d080"},
	{"int16", int16(-300), "d1fed4"},
	{"int32", int32(-70000), "d2fffeee90"},
	{"ext", Ext{Type: 5, Data: []byte{1, 2, 3}}, "c70305010203"},
	{"fixext", Ext{Type: 5, Data: []byte{9}}, "d40509"},
	{"raw", Raw{0x93, 1, 2, 3}, "93010203"},
	{"nil slice", []any(nil), "c0"},
	{"nil bytes", []byte(nil), "c0"},
	{"pointer", func() *int { i := 7; return &i }(), "07"},
	{"int map", map[int]string{2: "b", 10: "a"}, "82a23130a161a132a162"},
}

func TestEncodeGolden(t *testing.T) {
	for _, tc := range goldenEncode {
		got, err := Marshal(tc.v)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if h := hex.EncodeToString(got); h != tc.hex {
			t.Errorf("%s: got %s, want %s", tc.name, h, tc.hex)
		}
	}
}

func TestEncodeLengthBoundaries(t *testing.T) {
	for _, tc := range []struct {
		n      int
		str    string // header prefix of a string of n bytes
		bin    string
		array  string
		mapHdr string
	}{
		{0, "a0", "c400", "90", "80"},
		{15, "af", "c40f", "9f", "8f"},
		{16, "b0", "c410", "dc0010", "de0010"},
		{31, "bf", "c41f", "dc001f", "de001f"},
		{32, "d920", "c420", "dc0020", "de0020"},
		{255, "d9ff", "c4ff", "dc00ff", "de00ff"},
		{256, "da0100", "c50100", "dc0100", "de0100"},
		{65535, "daffff", "c5ffff", "dcffff", "deffff"},
		{65536, "db00010000", "c600010000", "dd00010000", "df00010000"},
	} {
		check := func(kind, want string, got []byte) {
			t.Helper()
			if h := hex.EncodeToString(got); !strings.HasPrefix(h, want) || (len(h) > len(want) && kind == "header") {
				t.Errorf("%s %d: got prefix %.20s, want %s", kind, tc.n, h, want)
			}
		}
		check("str", tc.str, AppendString(nil, strings.Repeat("x", tc.n)))
		check("bin", tc.bin, AppendBinary(nil, make([]byte, tc.n)))
		check("header", tc.array, AppendArrayHeader(nil, tc.n))
		check("header", tc.mapHdr, AppendMapHeader(nil, tc.n))
		a := make([]any, tc.n)
		b, err := Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		check("array", tc.array, b)
	}
}

var goldenDecode = []struct {
	name string
	hex  string
	want any
}{
	{"uint64 over 2^53", "cf0020000000000001", float64(9007199254740992)},
	{"float32", "ca3fc00000", 1.5},
	{"int key", "8101a161", map[string]any{"1": "a"}},
	{"undefined", "d40000", nil},
	{"legacy arraybuffer", "c7020001ff", []byte{1, 0xff}},
	{"legacy date", "d70000000000000003e8", time.UnixMilli(1000)},
	{"timestamp 32", "d6ff39457980", time.Date(2000, 6, 13, 0, 0, 0, 0, time.UTC)},
	{"timestamp 64", "d7ff1d5353006553f100", time.UnixMilli(1700000000123)},
	{"timestamp 96", "c70cff3b8b87c0ffffffffffffffff", time.UnixMilli(-1)},
	{"other ext", "d5070102", Ext{Type: 7, Data: []byte{1, 2}}},
	{"type -1 of another length", "c705ff0102030405", Ext{Type: -1, Data: []byte{1, 2, 3, 4, 5}}},
	{"timestamp 64 as ext 8", "c708ff1d5353006553f100", time.UnixMilli(1700000000123)},
	{"map16", "de0001a161c3", map[string]any{"a": true}},
	{"array32", "dd00000002c0c2", []any{nil, false}},
	{"negative fixint", "e0", float64(-32)},
	{"int64", "d3ffffffff7fffffff", float64(-2147483649)},
	{"str8", "d903616263", "abc"},
	{"bool key and nil key", "82c301c002", map[string]any{"true": float64(1), "null": float64(2)}},
	{"float key", "81cb3ff8000000000000c0", map[string]any{"1.5": nil}},
	{"last key wins", "82a16101a16102", map[string]any{"a": float64(2)}},
	{"bin key", "81c4016101", map[string]any{"a": float64(1)}},
}

func TestDecodeGolden(t *testing.T) {
	for _, tc := range goldenDecode {
		b, _ := hex.DecodeString(tc.hex)
		var got any
		if err := Unmarshal(b, &got); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(tc.want.(time.Time)) {
				t.Errorf("%s: got %v, want %v", tc.name, gt, tc.want)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.name, got, tc.want)
		}
	}
}

func TestDecodeGoldenEncodings(t *testing.T) {
	// Every golden encoding decodes, and re-encoding the decoded tree gives the
	// same bytes (for the values whose Go form survives the generic tree).
	for _, tc := range goldenEncode {
		b, _ := hex.DecodeString(tc.hex)
		var g any
		if err := Unmarshal(b, &g); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if strings.Contains(tc.name, "map") && tc.name != "sorted map" || tc.name == "raw" || tc.name == "omitted undefined" ||
			strings.Contains(tc.name, "broadcast") {
			continue // key order of structs and Go maps is not kept by the generic tree
		}
		again, err := Marshal(g)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if hex.EncodeToString(again) != tc.hex {
			t.Errorf("%s: re-encoded %x, want %s", tc.name, again, tc.hex)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
	}{
		{"empty", ""},
		{"c1", "c1"},
		{"trailing", "0101"},
		{"truncated str", "a3616263"[:6]},
		{"truncated uint", "cd01"},
		{"huge array", "ddffffffff"},
		{"huge map", "dfffffffff01"},
		{"huge str", "dbffffffff"},
		{"huge bin", "c6ffffffff00"},
		{"map bigger than input", "8201010101"[:8]},
		{"array key", "819001"},
		{"map key", "818001"},
	} {
		b, _ := hex.DecodeString(tc.hex)
		var g any
		err := Unmarshal(b, &g)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *SyntaxError", tc.name, err)
		}
	}
}

func TestDecodeDepth(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, DefaultMaxDepth)
	deep = append(deep, 0xc0)
	var g any
	if err := Unmarshal(deep, &g); err != nil {
		t.Fatalf("depth %d: %v", DefaultMaxDepth, err)
	}
	deeper := append([]byte{0x91}, deep...)
	if err := Unmarshal(deeper, &g); !errors.Is(err, ErrMaxDepth) {
		t.Fatalf("depth %d: got %v, want ErrMaxDepth", DefaultMaxDepth+1, err)
	}
	if _, err := Skip(deeper, nil); !errors.Is(err, ErrMaxDepth) {
		t.Fatalf("Skip: got %v, want ErrMaxDepth", err)
	}
	var typed []any
	if err := Unmarshal(deeper, &typed); !errors.Is(err, ErrMaxDepth) {
		t.Fatalf("typed: got %v, want ErrMaxDepth", err)
	}
	if err := UnmarshalOptions(deep[90:], &g, &DecodeOptions{MaxDepth: 5}); !errors.Is(err, ErrMaxDepth) {
		t.Fatalf("MaxDepth 5: got %v", err)
	}
	// A cyclic value fails to encode instead of overflowing the stack.
	cyc := map[string]any{}
	cyc["self"] = cyc
	if _, err := Marshal(cyc); !errors.Is(err, ErrMaxDepth) {
		t.Fatalf("cyclic: got %v", err)
	}
}

// TestDecodeMemoryBomb: a tiny input declaring huge lengths must fail without
// allocating anything near the declared size.
func TestDecodeMemoryBomb(t *testing.T) {
	for _, h := range []string{"ddffffffff", "dfffffffff", "dbffffffff", "c6ffffffff", "c9ffffffff01",
		"91ddffffffff", "dd0000100000" + strings.Repeat("00", 100)} {
		b, _ := hex.DecodeString(h)
		allocs := testing.AllocsPerRun(10, func() {
			var g any
			if Unmarshal(b, &g) == nil {
				t.Errorf("%s decoded", h)
			}
			var typed [][]int
			if Unmarshal(b, &typed) == nil {
				t.Errorf("%s decoded into [][]int", h)
			}
		})
		if allocs > 20 {
			t.Errorf("%s: %v allocations", h, allocs)
		}
	}
	// Growth is bounded by the data present: 100000 nils declared as 100000
	// elements reserve at most prealloc slots up front.
	b := AppendArrayHeader(nil, 100000)
	b = append(b, bytes.Repeat([]byte{0xc0}, 100000)...)
	var g any
	if err := Unmarshal(b, &g); err != nil || len(g.([]any)) != 100000 {
		t.Fatalf("large array: %v", err)
	}
}

type inner struct {
	X int `msgpack:"x"`
}

type sample struct {
	inner
	Name    string            `json:"name"`
	Skip    string            `json:"-"`
	Opt     string            `json:"opt,omitempty"`
	Tag     string            `msgpack:"tag" json:"jsonTag"`
	Plain   float64           // Go name
	Bytes   []byte            `json:"bytes"`
	When    time.Time         `json:"when"`
	Ptr     *inner            `json:"ptr,omitempty"`
	Map     map[string]uint16 `json:"map"`
	List    []inner           `json:"list"`
	Arr     [2]int8           `json:"arr"`
	Any     any               `json:"any"`
	Raw     Raw               `json:"raw"`
	private int
}

func TestStructRoundTrip(t *testing.T) {
	in := sample{
		inner: inner{X: 5}, Name: "n", Skip: "s", Tag: "t", Plain: 2.5,
		Bytes: []byte{1}, When: time.Unix(1700000000, 5).UTC(), Ptr: &inner{9},
		Map: map[string]uint16{"k": 600}, List: []inner{{1}, {2}}, Arr: [2]int8{-1, 1},
		Any: []any{"a", 1.0}, Raw: Raw{0xc3}, private: 1,
	}
	b, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x", "name", "tag", "Plain", "bytes", "when", "ptr", "map", "list", "arr", "any", "raw"} {
		if _, ok := g[k]; !ok {
			t.Errorf("key %q missing from %v", k, g)
		}
	}
	for _, k := range []string{"Skip", "opt", "jsonTag", "private", "inner"} {
		if _, ok := g[k]; ok {
			t.Errorf("key %q present", k)
		}
	}
	var out sample
	if err := Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	in.Skip, in.private = "", 0
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
	// Case-insensitive field match, unknown keys skipped, integral float into int.
	b, _ = hex.DecodeString("83a44e414d45a162a3787878c0a178cb4014000000000000")
	var s2 sample
	if err := Unmarshal(b, &s2); err != nil || s2.Name != "b" || s2.X != 5 {
		t.Fatalf("got %+v, %v", s2, err)
	}
}

func TestDecodeTypeErrors(t *testing.T) {
	for _, tc := range []struct {
		hex    string
		target any
	}{
		{"a161", new(int)},
		{"ccff", new(int8)},
		{"ff", new(uint)},
		{"cb3ff8000000000000", new(int)},
		{"01", new(string)},
		{"01", new([]int)},
		{"9101", new(map[string]int)},
		{"81a16101", new(time.Time)},
		{"81a161a162", new(map[int]string)},
		{"01", new(error)},
	} {
		b, _ := hex.DecodeString(tc.hex)
		var te *UnmarshalTypeError
		if err := Unmarshal(b, tc.target); !errors.As(err, &te) {
			t.Errorf("%s into %T: got %v, want *UnmarshalTypeError", tc.hex, tc.target, err)
		}
	}
	var ie *InvalidUnmarshalError
	if err := Unmarshal([]byte{1}, 1); !errors.As(err, &ie) {
		t.Errorf("non-pointer: %v", err)
	}
	if _, err := Marshal(make(chan int)); err == nil {
		t.Error("chan encoded")
	}
}

type lazy struct{ v any }

func (l lazy) Decode(v any) error { *(v.(*any)) = l.v; return nil }

func TestLazyValue(t *testing.T) {
	b, err := Marshal(map[string]any{"v": lazy{[]any{"x", []byte{1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(b); h != "81a17692a178c40101" {
		t.Fatalf("got %s", h)
	}
}

func TestSkipAndPeek(t *testing.T) {
	b, _ := hex.DecodeString("93a161c40101d6ff39457980" + "ff")
	n, err := Skip(b, nil)
	if err != nil || n != len(b)-1 {
		t.Fatalf("Skip = %d, %v", n, err)
	}
	for h, k := range map[string]Kind{"": KindInvalid, "c1": KindInvalid, "c0": KindNil, "d40000": KindUndefined, "c3": KindBool,
		"e0": KindInt, "cf": KindInt, "ca": KindFloat, "a0": KindString, "c400": KindBinary, "c7010001": KindBinary,
		"90": KindArray, "de": KindMap, "d6ff00000000": KindTime, "d40101": KindExt} {
		b, _ := hex.DecodeString(h)
		if got := PeekKind(b); got != k {
			t.Errorf("PeekKind(%s) = %v, want %v", h, got, k)
		}
	}
	if !Valid([]byte{0x90}) || Valid([]byte{0x91}) {
		t.Error("Valid")
	}
}

func TestJSNumber(t *testing.T) {
	for f, want := range map[float64]string{1.5: "1.5", 1e21: "1e+21", 1e-7: "1e-7", 123456789: "123456789",
		-2.5e-10: "-2.5e-10", 0.000001: "0.000001", math.Inf(-1): "-Infinity"} {
		if got := jsNumber(f); got != want {
			t.Errorf("jsNumber(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestEncodeNotepack2(t *testing.T) {
	// notepack.io 2.2 (inside socket.io-msgpack-parser) writes a Date as fixext 8
	// of type 0 with the milliseconds.
	for _, tc := range []struct {
		t   time.Time
		hex string
	}{
		{time.UnixMilli(1700000000123), "d7000000018bcfe5687b"},
		{time.UnixMilli(-1), "d700ffffffffffffffff"},
	} {
		b, err := AppendOptions(nil, []any{tc.t}, &EncodeOptions{Notepack2: true})
		if err != nil || hex.EncodeToString(b) != "91"+tc.hex {
			t.Errorf("%v: got %x, %v; want 91%s", tc.t, b, err, tc.hex)
		}
		var back time.Time
		if err := Unmarshal(b[1:], &back); err != nil || !back.Equal(tc.t) {
			t.Errorf("%v: decoded %v, %v", tc.t, back, err)
		}
	}
}

func TestJSString(t *testing.T) {
	// Expected strings are what Node's Buffer.toString("utf8") gives.
	for in, want := range map[string]string{
		"abc":                  "abc",
		"h\xc3\xa9":            "hé",
		"\xff":                 "\ufffd",
		"\xff\xfe":             "\ufffd\ufffd",
		"\xe2\x82":             "\ufffd",
		"\xe2\x82a":            "\ufffda",
		"\xed\xa0\x80":         "\ufffd\ufffd\ufffd",
		"\xf0\x9f\x98":         "\ufffd",
		"\xf0\x9f\x98\x80":     "😀",
		"\xc0\xaf":             "\ufffd\ufffd",
		"a\x80b":               "a\ufffdb",
		"\xf4\x90\x80\x80":     "\ufffd\ufffd\ufffd\ufffd",
		"\xe0\x80\x80":         "\ufffd\ufffd\ufffd",
		"\xf0\x80":             "\ufffd\ufffd",
		"\xe1\x80\xe1\x80\x80": "\ufffdက",
	} {
		if got := jsString([]byte(in)); got != want {
			t.Errorf("jsString(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSkipChecksKeys is a fuzz finding
// (fuzz/testdata/fuzz/FuzzMsgpackParser/23d107a0ed027718): Skip accepted a map
// with an array key that Unmarshal then refused, so a parser.Value could fail
// to decode. Skip now checks key kinds too.
func TestSkipChecksKeys(t *testing.T) {
	for _, h := range []string{"8193000000c0", "818000", "81d4050000"} {
		b, _ := hex.DecodeString(h)
		var se *SyntaxError
		if _, err := Skip(b, nil); !errors.As(err, &se) || !strings.Contains(se.Msg, "map key") {
			t.Errorf("Skip(%s) = %v, want a *SyntaxError", h, err)
		}
	}
}

type jsonOnly struct{ n int }

func (j jsonOnly) MarshalJSON() ([]byte, error) {
	return []byte(`{"n":` + strconv.Itoa(j.n) + `,"s":"x"}`), nil
}

func TestEncodeJSONMarshaler(t *testing.T) {
	for _, tc := range []struct {
		v   any
		hex string
	}{
		{jsonOnly{3}, "82a16e03a173a178"},
		{&jsonOnly{3}, "82a16e03a173a178"},
		{json.RawMessage(`[1,"a",null,1.5]`), "9401a161c0cb3ff8000000000000"},
		{struct {
			J jsonOnly `json:"j"`
		}{jsonOnly{1}}, "81a16a82a16e01a173a178"},
		{struct {
			P *jsonOnly `json:"p"`
		}{}, "81a170c0"},
		{struct {
			T time.Time `json:"t"`
		}{time.Unix(1, 0)}, "81a174d6ff00000001"},
	} {
		b, err := Marshal(tc.v)
		if err != nil || hex.EncodeToString(b) != tc.hex {
			t.Errorf("%#v: got %x, %v; want %s", tc.v, b, err, tc.hex)
		}
	}
}

type jsonIn struct{ got string }

func (j *jsonIn) UnmarshalJSON(b []byte) error { j.got = string(b); return nil }

func TestDecodeJSONUnmarshaler(t *testing.T) {
	b, _ := Marshal(map[string]any{"a": []any{1, "x", nil}, "b": 2.5})
	var j jsonIn
	if err := Unmarshal(b, &j); err != nil || j.got != `{"a":[1,"x",null],"b":2.5}` {
		t.Fatalf("got %q, %v", j.got, err)
	}
	var raw struct {
		A json.RawMessage `json:"a"`
	}
	if err := Unmarshal(b, &raw); err != nil || string(raw.A) != `[1,"x",null]` {
		t.Fatalf("RawMessage: %q, %v", raw.A, err)
	}
	var tm time.Time // implements json.Unmarshaler but decodes from the timestamp
	if err := Unmarshal([]byte{0xd6, 0xff, 0, 0, 0, 1}, &tm); err != nil || tm.Unix() != 1 {
		t.Fatalf("time: %v, %v", tm, err)
	}
	var te *UnmarshalTypeError
	if err := Unmarshal([]byte{0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}, &j); !errors.As(err, &te) {
		t.Fatalf("NaN into json.Unmarshaler: %v", err)
	}
}

func TestReaderKindErrors(t *testing.T) {
	r := NewReader([]byte{0xa1, 'x'}, nil)
	_, err := r.ReadMapHeader()
	var te *UnmarshalTypeError
	if !errors.As(err, &te) || err.Error() != "msgpack: expected map, found string (offset 0)" {
		t.Fatalf("got %v", err)
	}
	if r.Offset() != 0 || r.PeekKind() != KindString {
		t.Fatalf("the failed read consumed input: offset %d", r.Offset())
	}
	if _, err := r.ReadArrayHeader(); !errors.As(err, &te) {
		t.Fatalf("got %v", err)
	}
	if k, err := r.ReadKey(); err != nil || k != "x" || r.Remaining() != 0 {
		t.Fatalf("ReadKey = %q, %v", k, err)
	}
}

func TestScalarTargets(t *testing.T) {
	var s string
	var f float64
	var i int64
	var u uint64
	var b bool
	for _, tc := range []struct {
		hex    string
		target any
		want   any
		ok     bool
	}{
		{"a3616263", &s, "abc", true},
		{"c40178", &s, "x", true},
		{"a2ffff", &s, "\ufffd\ufffd", true},
		{"01", &s, nil, false},
		{"cb3ff8000000000000", &f, 1.5, true},
		{"d0df", &f, -33.0, true},
		{"c3", &f, nil, false},
		{"d3ffffffff7fffffff", &i, int64(-2147483649), true},
		{"cb4000000000000000", &i, int64(2), true},
		{"cf8000000000000000", &i, nil, false},
		{"cfffffffffffffffff", &u, uint64(math.MaxUint64), true},
		{"ff", &u, nil, false},
		{"c3", &b, true, true},
		{"00", &b, nil, false},
	} {
		raw, _ := hex.DecodeString(tc.hex)
		err := Unmarshal(raw, tc.target)
		if !tc.ok {
			var te *UnmarshalTypeError
			if !errors.As(err, &te) {
				t.Errorf("%s into %T: got %v, want a type error", tc.hex, tc.target, err)
			}
			continue
		}
		if got := reflect.ValueOf(tc.target).Elem().Interface(); err != nil || got != tc.want {
			t.Errorf("%s into %T: got %v, %v; want %v", tc.hex, tc.target, got, err, tc.want)
		}
	}
	// nil leaves a scalar unchanged.
	s = "keep"
	if err := Unmarshal([]byte{0xc0}, &s); err != nil || s != "keep" {
		t.Errorf("nil into string: %q, %v", s, err)
	}
	if v, ok := Int([]byte{0xd0, 0xdf}); !ok || v != -33 {
		t.Errorf("Int = %d, %v", v, ok)
	}
	if _, ok := Int([]byte{0x01, 0x02}); ok {
		t.Error("Int accepted trailing bytes")
	}
	if v, ok := Uint([]byte{0xcb, 0x40, 0, 0, 0, 0, 0, 0, 0}); !ok || v != 2 {
		t.Errorf("Uint = %d, %v", v, ok)
	}
	if _, ok := Uint([]byte{0xff}); ok {
		t.Error("Uint accepted -1")
	}
	if v, ok := String([]byte{0xa1, 'x'}); !ok || v != "x" {
		t.Errorf("String = %q, %v", v, ok)
	}
	if _, ok := String([]byte{0xc4, 1, 'x'}); ok {
		t.Error("String accepted bin")
	}
}

func TestExtLengths(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 8, 16, 17, 255, 256, 65536} {
		e := Ext{Type: 9, Data: bytes.Repeat([]byte{7}, n)}
		b, err := Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var got Ext
		if err := Unmarshal(b, &got); err != nil || got.Type != 9 || !bytes.Equal(got.Data, e.Data) {
			t.Errorf("ext of %d bytes: %v, %v", n, got.Type, err)
		}
		var g any
		if err := Unmarshal(b, &g); err != nil || !reflect.DeepEqual(g, e) {
			t.Errorf("ext of %d bytes into any: %v", n, err)
		}
	}
}

func TestOmitEmpty(t *testing.T) {
	type all struct {
		B  bool           `json:"b,omitempty"`
		I  int            `json:"i,omitempty"`
		U  uint           `json:"u,omitempty"`
		F  float64        `json:"f,omitempty"`
		S  string         `json:"s,omitempty"`
		P  *int           `json:"p,omitempty"`
		A  any            `json:"a,omitempty"`
		L  []int          `json:"l,omitempty"`
		M  map[string]int `json:"m,omitempty"`
		T  time.Time      `json:"t,omitempty"` // never empty, as in encoding/json
		Ar [0]int         `json:"ar,omitempty"`
	}
	b, err := Marshal(all{})
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]any
	if err := Unmarshal(b, &g); err != nil || len(g) != 1 || g["t"] == nil {
		t.Fatalf("got %v, %v", g, err)
	}
	one := 1
	b, _ = Marshal(all{B: true, I: -1, U: 1, F: 0.5, S: "s", P: &one, A: 0, L: []int{0}, M: map[string]int{"": 0}})
	if err := Unmarshal(b, &g); err != nil || len(g) != 10 {
		t.Fatalf("got %d keys %v, %v", len(g), g, err)
	}
}

func TestReaderWalk(t *testing.T) {
	b, _ := Marshal([]any{map[string]any{"k": 1}, "tail"})
	var r Reader // the zero Reader works after Reset
	r.Reset(b)
	if n, err := r.ReadArrayHeader(); err != nil || n != 2 {
		t.Fatalf("array: %d, %v", n, err)
	}
	if n, err := r.ReadMapHeader(); err != nil || n != 1 {
		t.Fatalf("map: %d, %v", n, err)
	}
	if k, err := r.ReadKeyBytes(); err != nil || string(k) != "k" {
		t.Fatalf("key: %q, %v", k, err)
	}
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	r.Leave()
	if raw, err := r.ReadRaw(); err != nil || string(raw) != "\xa4tail" || r.Remaining() != 0 {
		t.Fatalf("raw: %q, %v", raw, err)
	}
	// Leave gives back the depth: 150 sibling arrays read one by one pass a
	// MaxDepth of 2.
	deep := AppendArrayHeader(nil, 150)
	for range 150 {
		deep = append(deep, 0x90)
	}
	r2 := NewReader(deep, &DecodeOptions{MaxDepth: 2})
	n, _ := r2.ReadArrayHeader()
	for range n {
		if _, err := r2.ReadArrayHeader(); err != nil {
			t.Fatal(err)
		}
		r2.Leave()
	}
	if k, err := (&Reader{}).ReadKeyBytes(); err == nil {
		t.Fatalf("empty reader gave %q", k)
	}
}
