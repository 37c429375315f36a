package fuzz

import (
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/msgpack"
	"github.com/corvid-io/corvid/parser"
)

var update = flag.Bool("update", false, "rewrite the seed corpus under testdata/fuzz")

// sioPackets is one Socket.IO packet of every kind, binary ones included.
func sioPackets() []*parser.Packet {
	return []*parser.Packet{
		{Type: parser.Connect, Namespace: "/"},
		{Type: parser.Connect, Namespace: "/admin", Data: map[string]any{"token": "abc", "n": 1}},
		{Type: parser.Disconnect, Namespace: "/"},
		{Type: parser.Disconnect, Namespace: "/chat"},
		{Type: parser.Event, Namespace: "/", Event: "hello", Args: []any{"world", 1, 2.5, true, nil, map[string]any{"a": []any{1, "b"}}}},
		{Type: parser.Event, Namespace: "/chat", Event: "msg", Args: []any{"x"}, ID: 12, HasID: true},
		{Type: parser.Event, Namespace: "/", Event: "empty"},
		{Type: parser.Ack, Namespace: "/", ID: 7, HasID: true, Args: []any{"ok", map[string]any{"n": -3}}},
		{Type: parser.Ack, Namespace: "/admin", ID: 0, HasID: true},
		{Type: parser.ConnectError, Namespace: "/", Data: map[string]any{"message": "not authorized", "data": map[string]any{"code": 4}}},
		{Type: parser.ConnectError, Namespace: "/x", Data: "denied"},
		{Type: parser.BinaryEvent, Namespace: "/", Event: "upload", Args: []any{[]byte{1, 2, 3}, map[string]any{"more": []any{[]byte{}, []byte("abc")}}}},
		{Type: parser.BinaryEvent, Namespace: "/files", Event: "f", Args: []any{[]byte("x")}, ID: 3, HasID: true},
		{Type: parser.BinaryAck, Namespace: "/", ID: 9, HasID: true, Args: []any{[]byte{0xff}}},
	}
}

func seedsEngineIOPacket() [][]byte {
	var out [][]byte
	for t := engineio.PacketType(0); t <= 6; t++ {
		out = append(out, engineio.AppendPacket(nil, engineio.Packet{Type: t}))
	}
	for _, p := range []engineio.Packet{
		{Type: 0, Data: []byte(`{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`)},
		{Type: 2, Data: []byte("probe")},
		{Type: 3, Data: []byte("probe")},
		{Type: 4, Data: []byte("hello é")},
		{Type: 4, Binary: true, Data: []byte{0, 1, 2, 0xfe, 0xff}},
		{Type: 4, Binary: true, Data: []byte{}},
	} {
		out = append(out, engineio.AppendPacket(nil, p))
	}
	return append(out, []byte("bAQI"), []byte("b!!"), []byte("7"))
}

func seedsEngineIOPayload() [][]byte {
	ps := []engineio.Packet{
		{Type: 4, Data: []byte("hello")},
		{Type: 4, Binary: true, Data: []byte{1, 2, 3}},
		{Type: 2},
		{Type: 6},
		{Type: 1},
	}
	var out [][]byte
	for i := 1; i <= len(ps); i++ {
		out = append(out, engineio.AppendPayload(nil, ps[:i]))
	}
	return append(out, []byte("4a\x1e\x1e4b"), []byte("\x1e"))
}

// seedsSocketIOText are the text messages of the JSON parser for the packets
// without binary data.
func seedsSocketIOText() [][]byte {
	var out [][]byte
	for _, p := range sioPackets() {
		msgs, err := parser.JSON.Encode(p)
		if err != nil {
			panic(fmt.Sprintf("JSON seed %+v: %v", p, err))
		}
		if len(msgs) == 1 {
			out = append(out, msgs[0].Data)
		}
	}
	return append(out, []byte(`2["a",{"_placeholder":true,"num":0}]`), []byte(`0/nsp,{}`), []byte(`3/x,99[]`))
}

// seedsSocketIOBinary are the text message and the first three attachments of
// the JSON parser's binary packets; missing attachments are empty.
func seedsSocketIOBinary() [][4][]byte {
	var out [][4][]byte
	for _, p := range sioPackets() {
		msgs, err := parser.JSON.Encode(p)
		if err != nil {
			panic(fmt.Sprintf("JSON seed %+v: %v", p, err))
		}
		if len(msgs) < 2 {
			continue
		}
		var s [4][]byte
		for i := range min(4, len(msgs)) {
			s[i] = msgs[i].Data
		}
		for i := range s {
			if s[i] == nil {
				s[i] = []byte{}
			}
		}
		out = append(out, s)
	}
	return out
}

func seedsMsgpack() [][]byte {
	var out [][]byte
	for _, v := range []any{
		nil, true, false, 0, 127, 128, 255, 256, 65535, 65536, int64(1) << 32, -1, -32, -33, -128, -129,
		-32768, -32769, int64(math.MinInt32) - 1, uint64(math.MaxUint64), 1.5, math.Inf(-1), math.NaN(),
		"", "short", strings.Repeat("s", 40), strings.Repeat("l", 300), []byte{1, 2}, make([]byte, 300),
		[]any{}, []any{1, "a", []any{nil}}, make([]any, 20), map[string]any{}, map[string]any{"a": 1, "b": map[string]any{"c": []byte{}}},
		time.Unix(1700000000, 0), time.UnixMilli(1700000000123), time.UnixMilli(-1), msgpack.Ext{Type: 3, Data: []byte{1, 2, 3}},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	// The reference's notepack.io golden vectors and legacy codes.
	for _, h := range []string{
		"93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490",
		"93a661626331323383a47479706502a46461746194a47465737401a132c4020304a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380",
		"d40000", "c7020001ff", "d70000000000000003e8", "ca3fc00000", "8101a161", "cf0020000000000001",
	} {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	return out
}

func seedsMsgpackParser() [][]byte {
	var out [][]byte
	for _, p := range sioPackets() {
		msgs, err := parser.Msgpack().Encode(p)
		if err != nil {
			panic(fmt.Sprintf("msgpack seed %+v: %v", p, err))
		}
		out = append(out, msgs[0].Data)
	}
	return out
}

// corpusFile is the content of one seed file in the format of `go test -fuzz`.
func corpusFile(args ...[]byte) []byte {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		b.WriteString("[]byte(" + strconv.Quote(string(a)) + ")\n")
	}
	return []byte(b.String())
}

// seedCorpus returns the committed seed files: target -> file name -> content.
func seedCorpus() map[string]map[string][]byte {
	c := map[string]map[string][]byte{}
	add := func(target string, seeds [][]byte) {
		m := map[string][]byte{}
		for i, s := range seeds {
			m[fmt.Sprintf("seed-%02d", i)] = corpusFile(s)
		}
		c[target] = m
	}
	add("FuzzEngineIOPacket", seedsEngineIOPacket())
	add("FuzzEngineIOPayload", seedsEngineIOPayload())
	add("FuzzSocketIOText", seedsSocketIOText())
	add("FuzzMsgpack", seedsMsgpack())
	add("FuzzMsgpackParser", seedsMsgpackParser())
	add("FuzzRedisWire", seedsRedisWire())
	m := map[string][]byte{}
	for i, s := range seedsSocketIOBinary() {
		m[fmt.Sprintf("seed-%02d", i)] = corpusFile(s[0], s[1], s[2], s[3])
	}
	c["FuzzSocketIOBinary"] = m
	return c
}

// TestWriteSeedCorpus checks that testdata/fuzz holds the seed files the
// encoders produce today; with -update it rewrites them.
func TestWriteSeedCorpus(t *testing.T) {
	for target, files := range seedCorpus() {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			for _, f := range old {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		names := make([]string, 0, len(files))
		for name := range files {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, files[name], 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%v (run: go test ./fuzz -run TestWriteSeedCorpus -update)", err)
				continue
			}
			if string(got) != string(files[name]) {
				t.Errorf("%s is stale (run: go test ./fuzz -run TestWriteSeedCorpus -update)", path)
			}
		}
		if !*update {
			all, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
			if len(all) != len(files) {
				t.Errorf("%s: %d seed files, want %d", dir, len(all), len(files))
			}
		}
	}
}
