package conformance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// parserVectors are packets encoded by both socket.io-parser (through
// node/parser_vectors.js) and parser.JSON. Their values are of the kinds both
// sides share: strings, numbers, booleans, nil, []any, map[string]any, []byte.
var negZero = math.Copysign(0, -1)
var pointOne = 0.1

var parserVectors = []parser.Packet{
	{Type: parser.Connect},
	{Type: parser.Connect, Namespace: "/admin", Data: map[string]any{"token": "123"}},
	{Type: parser.Connect, Data: map[string]any{"sid": "AbC-_123"}},
	{Type: parser.Disconnect},
	{Type: parser.Disconnect, Namespace: "/admin"},
	{Type: parser.Event, Event: "foo"},
	{Type: parser.Event, Namespace: "/admin", ID: 12, HasID: true, Event: "message",
		Args: []any{1, "2", map[string]any{"3": []any{true}}}},
	{Type: parser.Event, Event: "strings", Args: []any{"é😀", "<a href='x'>&amp;</a>", "\u2028\u2029", "\x00\x1f\"\\/\x7f",
		"tab\tnl\ncr\rbs\bff\f", "", "\u00a0\ufeff\uffff"}},
	{Type: parser.Event, Event: "numbers", Args: []any{0, 1, -1, 1.5, 1e21, 1e20, 1e-6, 1e-7, 1.5e-7, pointOne + 0.2, negZero,
		123456789012345680000.0, 5e-324, math.MaxFloat64, 123e-20, 9007199254740991, -9007199254740991, 0.000123, 1234.5678}},
	{Type: parser.Event, Event: "literals", Args: []any{nil, true, false, []any{}, map[string]any{}, []any{[]any{[]any{}}}}},
	{Type: parser.Event, Event: "keys", Args: []any{map[string]any{"b": 1, "10": 2, "2": 3, "a": 4, "01": 5, "-1": 6, "1.5": 7, "": 8}}},
	{Type: parser.Event, Event: "bin", Args: []any{[]byte{1, 2, 3}}},
	{Type: parser.Event, Namespace: "/files", ID: 3, HasID: true, Event: "upload", Args: []any{
		map[string]any{"name": "a.bin", "data": []byte{0, 255}, "parts": []any{[]byte{1}, []byte{}, "x"}},
		[]byte("second"), []any{map[string]any{"deep": []any{[]byte{9, 9}}}}}},
	{Type: parser.Ack, ID: 0, HasID: true},
	{Type: parser.Ack, ID: 456, HasID: true, Args: []any{1, "2", map[string]any{"3": []any{false}}}},
	{Type: parser.Ack, ID: 789, HasID: true, Args: []any{[]byte{1, 2, 3}, []byte{4, 5, 6}}},
	{Type: parser.Ack, Namespace: "/admin", ID: 9007199254740991, HasID: true, Args: []any{nil}},
	{Type: parser.ConnectError, Namespace: "/random", Data: map[string]any{"message": "Invalid namespace"}},
	{Type: parser.ConnectError, Data: map[string]any{"message": "refused", "data": map[string]any{"code": 4}}},
	{Type: parser.ConnectError, Data: "a string"},
}

// spec turns a Go value into the JSON form parser_vectors.js reads and
// prints: []byte becomes {"$bin":"hex"}.
func spec(v any) any {
	switch x := v.(type) {
	case []byte:
		return map[string]any{"$bin": hex.EncodeToString(x)}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = spec(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = spec(e)
		}
		return out
	}
	return v
}

// packetSpec is the socket.io-parser packet object of p.
func packetSpec(p *parser.Packet) map[string]any {
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	out := map[string]any{"type": int(p.Type), "nsp": nsp}
	if p.HasID {
		out["id"] = p.ID
	}
	switch p.Type {
	case parser.Event:
		out["data"] = spec(append([]any{p.Event}, p.Args...))
	case parser.Ack:
		args := p.Args
		if args == nil {
			args = []any{}
		}
		out["data"] = spec(args)
	default:
		if p.Data != nil {
			out["data"] = spec(p.Data)
		}
	}
	return out
}

// normalize round-trips v through encoding/json so that specs built from Go
// values and from decoded JSON compare equal (numbers become float64).
func normalize(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

type nodeMsg struct {
	Text *string `json:"text,omitempty"`
	Bin  *string `json:"bin,omitempty"`
}

type nodeLine struct {
	I      int            `json:"i"`
	Msgs   []nodeMsg      `json:"msgs"`
	Packet map[string]any `json:"packet"`
	Error  *string        `json:"error"`
	Done   *int           `json:"done"`
}

// runVectors writes lines to a file, runs parser_vectors.js in mode and returns
// its output lines, one per input line.
func runVectors(t *testing.T, mode string, lines []any) []nodeLine {
	t.Helper()
	var buf bytes.Buffer
	for _, l := range lines {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	file := filepath.Join(t.TempDir(), mode+".jsonl")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	node := testutil.StartNode(t, "conformance/node/parser_vectors.js", mode, file)
	node.WaitLine(t, `{"done"`, 30*time.Second)
	var out []nodeLine
	for _, l := range node.Lines() {
		var nl nodeLine
		if err := json.Unmarshal([]byte(l), &nl); err != nil {
			t.Fatalf("node printed %q: %v", l, err)
		}
		if nl.Done == nil {
			out = append(out, nl)
		}
	}
	if len(out) != len(lines) {
		t.Fatalf("node answered %d of %d lines", len(out), len(lines))
	}
	for i, nl := range out {
		if nl.I != i {
			t.Fatalf("line %d answered as %d", i, nl.I)
		}
	}
	return out
}

func toMessages(t *testing.T, msgs []nodeMsg) []parser.Message {
	t.Helper()
	out := make([]parser.Message, len(msgs))
	for i, m := range msgs {
		switch {
		case m.Text != nil:
			out[i] = parser.Message{Data: []byte(*m.Text)}
		case m.Bin != nil:
			b, err := hex.DecodeString(*m.Bin)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = parser.Message{Binary: true, Data: b}
		}
	}
	return out
}

func fromMessages(msgs []parser.Message) []nodeMsg {
	out := make([]nodeMsg, len(msgs))
	for i, m := range msgs {
		s := string(m.Data)
		if m.Binary {
			s = hex.EncodeToString(m.Data)
			out[i].Bin = &s
		} else {
			out[i].Text = &s
		}
	}
	return out
}

// decodedSpec turns a packet decoded by parser.JSON into the spec form, with
// every Value decoded into any.
func decodedSpec(t *testing.T, p *parser.Packet) map[string]any {
	t.Helper()
	q := *p
	decode := func(v any) any {
		var x any
		if err := v.(parser.Value).Decode(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	q.Args = make([]any, len(p.Args))
	for i, a := range p.Args {
		q.Args[i] = decode(a)
	}
	if p.Data != nil {
		q.Data = decode(p.Data)
	}
	return packetSpec(&q)
}

func decodeGo(codec parser.Parser, msgs []parser.Message) (*parser.Packet, error) {
	d := codec.NewDecoder()
	for i, m := range msgs {
		p, err := d.Add(m)
		if err != nil {
			return nil, err
		}
		if p != nil {
			if i != len(msgs)-1 {
				return nil, errors.New("packet complete before the last message")
			}
			return p, nil
		}
	}
	return nil, errors.New("packet incomplete")
}

// TestParserEncodeMatchesNode: socket.io-parser and parser.JSON encode every
// vector into the same bytes, and parser.JSON decodes Node's messages back.
func TestParserEncodeMatchesNode(t *testing.T) {
	lines := make([]any, len(parserVectors))
	for i := range parserVectors {
		lines[i] = packetSpec(&parserVectors[i])
	}
	out := runVectors(t, "encode", lines)
	for i := range parserVectors {
		p := &parserVectors[i]
		node := toMessages(t, out[i].Msgs)
		ours, err := parser.JSON.Encode(p)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if len(ours) != len(node) {
			t.Errorf("vector %d: %d messages, node %d", i, len(ours), len(node))
			continue
		}
		for k := range ours {
			if ours[k].Binary != node[k].Binary || !bytes.Equal(ours[k].Data, node[k].Data) {
				t.Errorf("vector %d message %d:\n ours %q\n node %q", i, k, ours[k].Data, node[k].Data)
			}
		}
		got, err := decodeGo(parser.JSON, node)
		if err != nil {
			t.Errorf("vector %d: decoding node's %q: %v", i, node[0].Data, err)
			continue
		}
		if g, w := normalize(t, decodedSpec(t, got)), normalize(t, packetSpec(p)); !reflect.DeepEqual(g, w) {
			t.Errorf("vector %d decoded:\n got %v\nwant %v", i, g, w)
		}
	}
}

// TestParserNodeDecodesOurs: socket.io-parser decodes what parser.JSON encodes
// into the packets the vectors describe.
func TestParserNodeDecodesOurs(t *testing.T) {
	lines := make([]any, len(parserVectors))
	for i := range parserVectors {
		msgs, err := parser.JSON.Encode(&parserVectors[i])
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = fromMessages(msgs)
	}
	out := runVectors(t, "decode", lines)
	for i := range parserVectors {
		if out[i].Error != nil {
			t.Errorf("vector %d: node: %s", i, *out[i].Error)
			continue
		}
		if g, w := normalize(t, out[i].Packet), normalize(t, packetSpec(&parserVectors[i])); !reflect.DeepEqual(g, w) {
			t.Errorf("vector %d: node decoded\n got %v\nwant %v", i, g, w)
		}
	}
}

func textMsg(s string) nodeMsg { return nodeMsg{Text: &s} }
func binMsg(h string) nodeMsg  { return nodeMsg{Bin: &h} }

// TestParserValidationMatchesNode: inputs both decoders accept or both refuse,
// and the inputs parser.JSON refuses on purpose although socket.io-parser
// takes them (stricter placeholder and payload checks).
func TestParserValidationMatchesNode(t *testing.T) {
	ph := func(n string) string { return `{"_placeholder":true,"num":` + n + `}` }
	type input struct {
		msgs   []nodeMsg
		accept bool // by both; otherwise refused by both
	}
	same := []input{
		{[]nodeMsg{textMsg(`0`)}, true},
		{[]nodeMsg{textMsg(`0/random`)}, true},
		{[]nodeMsg{textMsg(`1/custom`)}, true},
		{[]nodeMsg{textMsg(`2["a",1]`)}, true},
		{[]nodeMsg{textMsg(`2[1]`)}, true},
		{[]nodeMsg{textMsg(`2/a,007["x"]`)}, true},
		{[]nodeMsg{textMsg(`4"x"`)}, true},
		{[]nodeMsg{textMsg(`31[]`)}, true},
		{[]nodeMsg{textMsg(`2[ "ws" , 1 ]`)}, true},
		{[]nodeMsg{textMsg(`2["a",{"_placeholder":false}]`)}, true},
		{[]nodeMsg{textMsg(`501-["x",` + ph("0") + `]`), binMsg("01")}, true},
		{[]nodeMsg{textMsg(`62-3[` + ph("1") + `,` + ph("0") + `]`), binMsg("01"), binMsg("02")}, true},
		{[]nodeMsg{textMsg(`abc`)}, false},
		{[]nodeMsg{textMsg(`4abc`)}, false},
		{[]nodeMsg{textMsg(`7`)}, false},
		{[]nodeMsg{textMsg(`2{}`)}, false},
		{[]nodeMsg{textMsg(`2abc["x"]`)}, false},
		{[]nodeMsg{textMsg(`2[]`)}, false},
		{[]nodeMsg{textMsg(`2[null]`)}, false},
		{[]nodeMsg{textMsg(`2["x",]`)}, false},
		{[]nodeMsg{textMsg(`2["connect"]`)}, false},
		{[]nodeMsg{textMsg(`2["disconnecting"]`)}, false},
		{[]nodeMsg{textMsg(`2["newListener"]`)}, false},
		{[]nodeMsg{textMsg(`3{}`)}, false},
		{[]nodeMsg{textMsg(`0[]`)}, false},
		{[]nodeMsg{textMsg(`0"x"`)}, false},
		{[]nodeMsg{textMsg(`1{}`)}, false},
		{[]nodeMsg{textMsg(`4[]`)}, false},
		{[]nodeMsg{textMsg(`50-["x"]`)}, false},
		{[]nodeMsg{textMsg(`5a-["x"]`)}, false},
		{[]nodeMsg{textMsg(`51["x"]`)}, false},
		{[]nodeMsg{textMsg(`511-["x"]`)}, false},
		{[]nodeMsg{textMsg(`51-["x",` + ph("1") + `]`), binMsg("01")}, false},
		{[]nodeMsg{textMsg(`51-["x",{"_placeholder":true,"num":-1}]`), binMsg("01")}, false},
		{[]nodeMsg{binMsg("01")}, false},
		{[]nodeMsg{textMsg(`52-["x",` + ph("0") + `,` + ph("1") + `]`), binMsg("01"), textMsg(`2["y"]`)}, false},
	}
	stricter := []input{
		{[]nodeMsg{textMsg(``)}, false},                       // Number("") is 0: CONNECT to "/"
		{[]nodeMsg{textMsg(`2`)}, false},                      // EVENT without payload
		{[]nodeMsg{textMsg(`31`)}, false},                     // ACK without payload
		{[]nodeMsg{textMsg(`4`)}, false},                      // CONNECT_ERROR without payload
		{[]nodeMsg{textMsg(`2["x",` + ph("0") + `]`)}, false}, // placeholder, no attachments
		{[]nodeMsg{textMsg(`52-["x",` + ph("0") + `,` + ph("0") + `]`), binMsg("01"), binMsg("02")}, false}, // duplicate num
		{[]nodeMsg{textMsg(`52-["x",` + ph("0") + `]`), binMsg("01"), binMsg("02")}, false},                 // unused attachment
		{[]nodeMsg{textMsg(`51-["x",{"_placeholder":true,"num":0,"more":1}]`), binMsg("01")}, false},        // extra member
		{[]nodeMsg{textMsg(`51-["x",{"_placeholder":true,"num":0.0}]`), binMsg("01")}, false},               // non-integer form
	}
	all := append(append([]input(nil), same...), stricter...)
	lines := make([]any, len(all))
	for i, in := range all {
		lines[i] = in.msgs
	}
	out := runVectors(t, "decode", lines)
	for i, in := range all {
		_, err := decodeGo(parser.JSON, toMessages(t, in.msgs))
		nodeOK := out[i].Error == nil
		goOK := err == nil
		first := ""
		if in.msgs[0].Text != nil {
			first = *in.msgs[0].Text
		}
		if i < len(same) {
			if nodeOK != in.accept || goOK != in.accept {
				t.Errorf("%q: node ok=%v (%v), go ok=%v (%v), want both %v", first, nodeOK, out[i].Error, goOK, err, in.accept)
			}
			continue
		}
		if !nodeOK || goOK {
			t.Errorf("%q: node ok=%v, go ok=%v (%v); want node to accept and go to refuse", first, nodeOK, goOK, err)
		}
		if goOK {
			continue
		}
		if !strings.HasPrefix(err.Error(), "parser: ") {
			t.Errorf("%q: error %q lacks the package prefix", first, err)
		}
	}
}

// TestParserSurrogatesMatchNode: a Go string holding surrogate code points as
// three-byte sequences (WTF-8) is written the way JSON.stringify writes the
// JavaScript string with those UTF-16 units: a lone one as a \udxxx escape, a
// pair as the character it forms.
func TestParserSurrogatesMatchNode(t *testing.T) {
	lines := []any{json.RawMessage(`{"type":2,"nsp":"/","data":["s","\ud800","a\udfffb","\ud83d\ude00","\ude00\ud83d"]}`)}
	out := runVectors(t, "encode", lines)
	p := parser.Packet{Type: parser.Event, Event: "s", Args: []any{
		"\xed\xa0\x80", "a\xed\xbf\xbfb", "\xed\xa0\xbd\xed\xb8\x80", "\xed\xb8\x80\xed\xa0\xbd"}}
	ours, err := parser.JSON.Encode(&p)
	if err != nil {
		t.Fatal(err)
	}
	node := toMessages(t, out[0].Msgs)
	if len(node) != 1 || string(ours[0].Data) != string(node[0].Data) {
		t.Fatalf("ours %q, node %q", ours[0].Data, node[0].Data)
	}
}
