package conformance

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/msgpack"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// The cases of conformance/node/msgpack_vectors.js, by name, as Go values.

func mpRepeat(n int, f func(i int) any) []any {
	a := make([]any, n)
	for i := range a {
		a[i] = f(i)
	}
	return a
}

func mpBigMap(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		var v any = i
		if i%3 == 0 {
			v = "v"
		}
		m[fmt.Sprintf("k%05d", i)] = v
	}
	return m
}

func mpValues() map[string]any {
	return map[string]any{
		"zero": 0, "fixint": 127, "uint8": 128, "uint8max": 255, "uint16": 256, "uint16max": 65535,
		"uint32": 65536, "uint32max": uint32(math.MaxUint32), "uint64": int64(1) << 32, "safemax": int64(1)<<53 - 1,
		"negfix": -1, "negfixmin": -32, "int8": -33, "int8min": int8(math.MinInt8), "int16": -129,
		"int16min": int16(math.MinInt16), "int32": -32769, "int32min": int32(math.MinInt32), "int64": int64(-2147483649),
		"safemin": -(int64(1)<<53 - 1),
		"float":   1.5, "negfloat": -0.1, "tiny": 5e-324, "huge": math.MaxFloat64, "inf": math.Inf(1), "neginf": math.Inf(-1),
		"nil": nil, "t": true, "f": false,
		"str0": "", "str31": strings.Repeat("a", 31), "str32": strings.Repeat("b", 32), "str255": strings.Repeat("c", 255),
		"str256": strings.Repeat("d", 256), "str65535": strings.Repeat("e", 65535), "str65536": strings.Repeat("f", 65536),
		"unicode": "héllo wörld ✓ 😀",
		"bin0":    []byte{}, "bin": []byte{0, 1, 2, 255}, "bin256": bytes.Repeat([]byte{7}, 256), "bin65536": bytes.Repeat([]byte{9}, 65536),
		"arr0": []any{}, "arr15": mpRepeat(15, func(i int) any { return i }), "arr16": mpRepeat(16, func(i int) any { return i }),
		"arr65535": mpRepeat(65535, func(i int) any { return i & 1 }), "arr65536": mpRepeat(65536, func(i int) any { return i & 1 }),
		"map0": map[string]any{}, "map15": mpBigMap(15), "map16": mpBigMap(16), "map65536": mpBigMap(65536),
		"nested": map[string]any{"a": []any{1, map[string]any{"b": []any{nil, true, "x", []byte{1}}}}, "c": map[string]any{"d": map[string]any{"e": -1.25}}},
		"date":   time.UnixMilli(1700000000123), "date32": time.Date(2000, 6, 13, 0, 0, 0, 0, time.UTC),
	}
}

type mpFile struct {
	Name string `json:"name"`
	Body []byte `json:"body"`
}

type mpConnect struct {
	Sid string `json:"sid"`
	Pid string `json:"pid"`
}

type mpConnectError struct {
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func mpPackets() map[string]*parser.Packet {
	return map[string]*parser.Packet{
		"event":              {Type: parser.Event, Namespace: "/", Event: "hello", Args: []any{1, "two", []byte{1, 2, 3}, map[string]any{"a": []any{true, nil}}}},
		"eventID":            {Type: parser.Event, Namespace: "/admin", Event: "ev", Args: []any{map[string]any{"n": 1.5}}, ID: 12, HasID: true},
		"eventBigID":         {Type: parser.Event, Namespace: "/", Event: "ev", ID: 1 << 32, HasID: true},
		"eventBinary":        {Type: parser.BinaryEvent, Namespace: "/ns", Event: "file", Args: []any{mpFile{"a", bytes.Repeat([]byte{1}, 300)}, [][]byte{{5}}}},
		"eventDate":          {Type: parser.Event, Namespace: "/", Event: "when", Args: []any{time.UnixMilli(1700000000123)}},
		"ack":                {Type: parser.Ack, Namespace: "/", ID: 300, HasID: true, Args: []any{map[string]any{"x": 1.5}, "ok"}},
		"ackEmpty":           {Type: parser.Ack, Namespace: "/", ID: 0, HasID: true},
		"connect":            {Type: parser.Connect, Namespace: "/", Data: mpConnect{"abc", "def"}},
		"connectNoData":      {Type: parser.Connect, Namespace: "/x"},
		"disconnect":         {Type: parser.Disconnect, Namespace: "/"},
		"connectError":       {Type: parser.ConnectError, Namespace: "/", Data: mpConnectError{"nope", map[string]any{"code": 1}}},
		"connectErrorString": {Type: parser.ConnectError, Namespace: "/", Data: "denied"},
	}
}

// mpKnownDiff are the cases where notepack.io writes bytes we deliberately do
// not reproduce: it encodes integral numbers of 2^64 and above through 32-bit
// truncation, so Number.MAX_VALUE becomes uint 64 zero; we write float 64.
var mpKnownDiff = map[string]string{
	"value:huge": "cf0000000000000000",
}

// TestMsgpackNodeVectors: the same values and packets encoded by Node
// (notepack.io 3.0.1, socket.io-msgpack-parser 3.0.2) and by us give the same
// bytes, Node decodes ours into values deeply equal to its own, and we decode
// Node's (re-encoding them to the same bytes).
func TestMsgpackNodeVectors(t *testing.T) {
	goHex := map[string]string{}
	values := mpValues()
	for name, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatalf("value:%s: %v", name, err)
		}
		goHex["value:"+name] = hex.EncodeToString(b)
	}
	packets := mpPackets()
	for name, p := range packets {
		msgs, err := parser.Msgpack().Encode(p)
		if err != nil {
			t.Fatalf("packet:%s: %v", name, err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("packet:%s: %d messages", name, len(msgs))
		}
		goHex["packet:"+name] = hex.EncodeToString(msgs[0].Data)
	}
	file := filepath.Join(t.TempDir(), "go.json")
	data, _ := json.Marshal(goHex)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}

	node := testutil.StartNode(t, "conformance/node/msgpack_vectors.js", file)
	node.WaitLine(t, "done", 60*time.Second)
	seen := 0
	for _, line := range node.Lines() {
		f := strings.Fields(line)
		if len(f) != 4 || f[0] != "case" {
			continue
		}
		seen++
		name, nodeHex, nodeDecoded := f[1], f[2], f[3]
		if nodeDecoded != "ok" {
			t.Errorf("%s: Node decoding our bytes: %s", name, nodeDecoded)
		}
		if want, ok := mpKnownDiff[name]; ok {
			if nodeHex != want {
				t.Errorf("%s: Node wrote %s, expected its known %s", name, nodeHex, want)
			}
			continue
		}
		if nodeHex != goHex[name] {
			t.Errorf("%s: bytes differ\n node %.160s\n   go %.160s", name, nodeHex, goHex[name])
			continue
		}
		nodeBytes, _ := hex.DecodeString(nodeHex)
		kind, short, _ := strings.Cut(name, ":")
		switch kind {
		case "value":
			var g any
			if err := msgpack.Unmarshal(nodeBytes, &g); err != nil {
				t.Errorf("%s: decoding Node's bytes: %v", name, err)
			}
			// The generic tree re-encodes to Node's bytes (map keys here are
			// in sorted order, Node's order too).
			again, err := msgpack.Marshal(g)
			if err != nil || !bytes.Equal(again, nodeBytes) {
				t.Errorf("%s: re-encoded %.80x, %v", name, again, err)
			}
		case "packet":
			p, err := parser.Msgpack().NewDecoder().Add(parser.Message{Binary: true, Data: nodeBytes})
			if err != nil {
				t.Errorf("%s: decoding Node's packet: %v", name, err)
				continue
			}
			want := packets[short]
			wantType := want.Type
			if wantType == parser.BinaryEvent {
				wantType = parser.Event
			}
			if p.Type != wantType || p.Namespace != want.Namespace || p.ID != want.ID || p.HasID != want.HasID ||
				p.Event != want.Event || len(p.Args) != len(want.Args) {
				t.Errorf("%s: decoded %+v, want %+v", name, p, want)
			}
			msgs, err := parser.Msgpack().Encode(p)
			if err != nil || !bytes.Equal(msgs[0].Data, nodeBytes) {
				t.Errorf("%s: forwarding the decoded packet gave %x, %v", name, msgs[0].Data, err)
			}
		}
	}
	if want := len(values) + len(packets); seen != want {
		t.Fatalf("Node reported %d cases, want %d", seen, want)
	}
}
