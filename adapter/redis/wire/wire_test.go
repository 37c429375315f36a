package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Golden vectors produced by notepack.io 3.0.1 (see the reference notes).
func TestBroadcastGoldens(t *testing.T) {
	got, err := AppendEmitterBroadcast(nil, &Packet{Type: 2, Data: []any{"hi"}, Nsp: "/"}, &Opts{})
	if err != nil {
		t.Fatal(err)
	}
	want := mustHex(t, "93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490")
	if !bytes.Equal(got, want) {
		t.Fatalf("emitter broadcast\n got %x\nwant %x", got, want)
	}

	b := &Broadcast{UID: "abc123", Packet: Packet{Type: 2, Data: []any{"test", 1, "2", []byte{3, 4}}, Nsp: "/"},
		Opts: Opts{Rooms: []string{"room1"}}}
	got, err = AppendBroadcast(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	want = mustHex(t, "93a661626331323383a47479706502a46461746194a47465737401a132c4020304a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380")
	if !bytes.Equal(got, want) {
		t.Fatalf("broadcast\n got %x\nwant %x", got, want)
	}
	d, err := DecodeBroadcast(want)
	if err != nil {
		t.Fatal(err)
	}
	if d.UID != "abc123" || d.Packet.Nsp != "/" || len(d.Packet.Data) != 4 || d.Packet.Data[0] != "test" ||
		d.Packet.Data[1] != float64(1) || !bytes.Equal(d.Packet.Data[3].([]byte), []byte{3, 4}) ||
		!reflect.DeepEqual(d.Opts.Rooms, []string{"room1"}) || len(d.Opts.Except) != 0 || d.Opts.Flags == nil {
		t.Fatalf("decoded %+v", d)
	}
}

func TestBroadcastMissingNspIsRoot(t *testing.T) {
	// ["x", {type:2, data:["e"]}, {rooms:[], except:[]}] without nsp and flags.
	var buf []byte
	buf, _ = appendMsgpack(buf, []any{"x", obj{{"type", 2}, {"data", []any{"e"}}}, obj{{"rooms", []any{}}, {"except", []any{}}}})
	d, err := DecodeBroadcast(buf)
	if err != nil {
		t.Fatal(err)
	}
	if d.Packet.Nsp != "/" || d.Opts.Flags != nil {
		t.Fatalf("got %+v", d)
	}
}

func TestBroadcastNumericRoom(t *testing.T) {
	var buf []byte
	buf, _ = appendMsgpack(buf, []any{"x", obj{{"type", 2}, {"data", []any{"e"}}, {"nsp", "/"}},
		obj{{"rooms", []any{123}}, {"except", []any{4.5}}, {"flags", obj{{"volatile", true}, {"timeout", 1000}}}}})
	d, err := DecodeBroadcast(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Opts.Rooms, []string{"123"}) || !reflect.DeepEqual(d.Opts.Except, []string{"4.5"}) ||
		!d.Opts.Flags.Volatile || d.Opts.Flags.Timeout != 1000 {
		t.Fatalf("got %+v %+v", d.Opts, d.Opts.Flags)
	}
}

func TestRequestGoldens(t *testing.T) {
	cases := []struct {
		r    Request
		want string
	}{
		{Request{UID: "5cFyPU", RequestID: "TxUx6L", Type: RemoteFetch, Opts: &Opts{}},
			`{"uid":"5cFyPU","requestId":"TxUx6L","type":5,"opts":{"rooms":[],"except":[]}}`},
		{Request{UID: "5cFyPU", Type: RemoteJoin, Opts: &Opts{Rooms: []string{"room1"}}, Rooms: []string{"room2"}},
			`{"uid":"5cFyPU","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`},
		{Request{UID: "5cFyPU", RequestID: "EZvlZa", Type: ServerSideEmit, Data: []any{"sse", 42}},
			`{"uid":"5cFyPU","requestId":"EZvlZa","type":6,"data":["sse",42]}`},
		{Request{UID: "5cFyPU", Type: RemoteDisconnect, Opts: &Opts{Rooms: []string{"room2"}}, Close: true},
			`{"uid":"5cFyPU","type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}`},
		{Request{Type: RemoteJoin, Opts: &Opts{Rooms: []string{"room1"}}, Rooms: []string{"r2"}},
			`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["r2"]}`},
		{Request{UID: "emitter", Type: ServerSideEmit, Data: []any{"sse", 1}},
			`{"uid":"emitter","type":6,"data":["sse",1]}`},
		{Request{UID: "u", RequestID: "r", Type: AllRooms}, `{"uid":"u","requestId":"r","type":1}`},
	}
	for _, c := range cases {
		got, err := AppendRequest(nil, &c.r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
		d, err := DecodeRequest(got)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := AppendRequest(nil, d)
		if string(again) != c.want {
			t.Errorf("round trip %s != %s", again, c.want)
		}
	}
}

func TestBroadcastWithAckRequestIsMsgpack(t *testing.T) {
	r := &Request{UID: "u1", RequestID: "r1", Type: BroadcastWithAck,
		Packet: &Packet{Type: 2, Data: []any{"e", []byte{1}}, Nsp: "/"},
		Opts:   &Opts{Rooms: []string{"a"}, Flags: &Flags{Timeout: 1000}}}
	b, err := AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] == '{' {
		t.Fatal("type 7 must be msgpack")
	}
	d, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Type != BroadcastWithAck || d.UID != "u1" || d.RequestID != "r1" || d.Packet.Nsp != "/" ||
		d.Opts.Flags.Timeout != 1000 || !bytes.Equal(d.Packet.Data[1].([]byte), []byte{1}) {
		t.Fatalf("got %+v", d)
	}
}

func TestResponseGoldens(t *testing.T) {
	b, _ := AppendClientCount(nil, "WulnUI", 1)
	if string(b) != `{"type":8,"requestId":"WulnUI","clientCount":1}` {
		t.Fatal(string(b))
	}
	b, _ = AppendBroadcastAck(nil, "WulnUI", "pong")
	want := mustHex(t, "83a47479706509a9726571756573744964a657756c6e5549a67061636b6574a4706f6e67")
	if !bytes.Equal(b, want) {
		t.Fatalf("ack\n got %x\nwant %x", b, want)
	}
	r, err := DecodeResponse(b)
	if err != nil || r.Type != BroadcastAck || r.Packet != "pong" || r.RequestID != "WulnUI" {
		t.Fatalf("%+v %v", r, err)
	}
	b, _ = AppendServerSideEmitAck(nil, "EZvlZa", "pong-42")
	if string(b) != `{"type":6,"requestId":"EZvlZa","data":"pong-42"}` {
		t.Fatal(string(b))
	}
	// nil lists are written as [] (Node skips responses whose list is not an array).
	b, _ = AppendFetchResponse(nil, "q", nil)
	if string(b) != `{"requestId":"q","sockets":[]}` {
		t.Fatal(string(b))
	}
	b, _ = AppendRoomsResponse(nil, "q", nil)
	if string(b) != `{"requestId":"q","rooms":[]}` {
		t.Fatal(string(b))
	}
	b, _ = AppendFetchResponse(nil, "q", []SocketInfo{{ID: "abc", Data: map[string]any{"x": []byte{1}}}})
	if string(b) != `{"requestId":"q","sockets":[{"id":"abc","handshake":{},"rooms":[],"data":{"x":{"type":"Buffer","data":[1]}}}]}` {
		t.Fatal(string(b))
	}
	r, err = DecodeResponse(b)
	if err != nil || !r.HasSockets || len(r.Sockets) != 1 || r.Sockets[0].ID != "abc" || r.Sockets[0].Rooms == nil {
		t.Fatalf("%+v %v", r, err)
	}
	r, err = DecodeResponse([]byte(`{"requestId":"q","sockets":null}`))
	if err != nil || r.HasSockets {
		t.Fatalf("null sockets: %+v %v", r, err)
	}
}

func TestClusterGoldens(t *testing.T) {
	m := &ClusterMessage{Type: MsgBroadcast, UID: "b84be287f6846ac5", Nsp: "/",
		Packet: &Packet{Type: 2, Data: []any{"r", "v"}}, Opts: &Opts{Rooms: []string{"room1"}}}
	b, err := AppendClusterMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":3,"data":{"packet":{"type":2,"data":["r","v"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"b84be287f6846ac5","nsp":"/"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	d, err := DecodeClusterMessage(b)
	if err != nil || d.Type != MsgBroadcast || d.Packet.Data[1] != "v" || d.Opts.Rooms[0] != "room1" || d.UID != m.UID {
		t.Fatalf("%+v %v", d, err)
	}
	b, _ = AppendClusterMessage(nil, &ClusterMessage{Type: MsgBroadcastClientCount, UID: "u", Nsp: "/", RequestID: "q", ClientCount: 1})
	if string(b) != `{"type":11,"data":{"requestId":"q","clientCount":1},"uid":"u","nsp":"/"}` {
		t.Fatal(string(b))
	}
	// Binary data switches the envelope to msgpack: 84 a4"type" 03 a4"data" ...
	b, _ = AppendClusterMessage(nil, &ClusterMessage{Type: MsgBroadcast, UID: "u", Nsp: "/",
		Packet: &Packet{Type: 2, Data: []any{"r", []byte{3, 4}}}, Opts: &Opts{}})
	if !bytes.HasPrefix(b, mustHex(t, "84a474797065"+"03a464617461")) {
		t.Fatalf("binary broadcast %x", b)
	}
	d, err = DecodeClusterMessage(b)
	if err != nil || !bytes.Equal(d.Packet.Data[1].([]byte), []byte{3, 4}) {
		t.Fatalf("%+v %v", d, err)
	}
	// Binary in a type without binary support stays JSON (Buffer shape).
	b, _ = AppendClusterMessage(nil, &ClusterMessage{Type: MsgFetchSocketsResponse, UID: "u", Nsp: "/", RequestID: "q"})
	if string(b) != `{"type":8,"data":{"requestId":"q","sockets":[]},"uid":"u","nsp":"/"}` {
		t.Fatal(string(b))
	}
	b, _ = AppendClusterMessage(nil, &ClusterMessage{Type: MsgServerSideEmit, UID: "u", Nsp: "/", Args: []any{"e", 1}, RequestID: "q"})
	if string(b) != `{"type":9,"data":{"packet":["e",1],"requestId":"q"},"uid":"u","nsp":"/"}` {
		t.Fatal(string(b))
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, in := range []string{"", "{", `{"type":"x"}`, `{"type":3,"uid":"u","nsp":"/"}`, `[1]`, "\xc1", `{"type":3,"data":{"packet":{"data":3},"opts":{}}}`} {
		if _, err := DecodeClusterMessage([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("cluster %q: %v", in, err)
		}
	}
	for _, in := range []string{"", `{"uid":"x"}`, `{"type":2,"opts":3}`, `{"type":2,"rooms":[{}]}`} {
		if _, err := DecodeRequest([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("request %q: %v", in, err)
		}
	}
	for _, in := range []string{"", `["a",{}]`, `[1,{"data":[]},3]`} {
		if _, err := DecodeBroadcast([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("broadcast %q: %v", in, err)
		}
	}
}

func TestJSONStringLikeNode(t *testing.T) {
	b, _ := appendJSON(nil, "<a&b>\"\\\n\x01é")
	if string(b) != `"<a&b>\"\\\n\u0001é"` {
		t.Fatal(string(b))
	}
}

// A Node deployment with {parser: {encode: JSON.stringify, decode: JSON.parse}}.
func TestJSONCodec(t *testing.T) {
	b := &Broadcast{UID: "u", Packet: Packet{Type: 2, Data: []any{"e", []any{3}, []byte{1}}, Nsp: "/"}, Opts: Opts{}}
	enc, err := JSON.AppendBroadcast(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	want := `["u",{"type":2,"data":["e",[3],{"type":"Buffer","data":[1]}],"nsp":"/"},{"rooms":[],"except":[],"flags":{}}]`
	if string(enc) != want {
		t.Fatalf("got  %s\nwant %s", enc, want)
	}
	d, err := DecodeBroadcast(enc)
	if err != nil || !reflect.DeepEqual(d.Packet.Data[1], []any{float64(3)}) {
		t.Fatalf("%+v %v", d, err)
	}
	ack, _ := JSON.AppendBroadcastAck(nil, "r", "pong")
	if string(ack) != `{"type":9,"requestId":"r","packet":"pong"}` {
		t.Fatal(string(ack))
	}
	req, _ := JSON.AppendRequest(nil, &Request{UID: "u", RequestID: "r", Type: BroadcastWithAck, Packet: &b.Packet, Opts: &Opts{}})
	if r, err := DecodeRequest(req); err != nil || req[0] != '{' || r.Type != BroadcastWithAck {
		t.Fatalf("%s %v", req, err)
	}
}

func TestJSONNumbersLikeNode(t *testing.T) {
	for f, want := range map[float64]string{1: "1", -0.5: "-0.5", 1.5: "1.5", 1e21: "1e+21", 1e-7: "1e-7", 123456789012: "123456789012", 0: "0"} {
		if got, _ := appendJSON(nil, f); string(got) != want {
			t.Errorf("%v: got %s want %s", f, got, want)
		}
	}
}

func BenchmarkAppendBroadcast(b *testing.B) {
	br := &Broadcast{UID: "abc123", Packet: Packet{Type: 2, Data: []any{"tick", 1.5, "payload", []byte{1, 2, 3}}, Nsp: "/"},
		Opts: Opts{Rooms: []string{"room"}, Flags: &Flags{}}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = AppendBroadcast(buf[:0], br)
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	enc, _ := AppendBroadcast(nil, &Broadcast{UID: "abc123", Packet: Packet{Type: 2, Data: []any{"tick", 1.5, "payload", []byte{1, 2, 3}}, Nsp: "/"},
		Opts: Opts{Rooms: []string{"room"}, Flags: &Flags{}}})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeBroadcast(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendClusterMessageJSON(b *testing.B) {
	m := &ClusterMessage{Type: MsgBroadcast, UID: "b84be287f6846ac5", Nsp: "/",
		Packet: &Packet{Type: 2, Data: []any{"tick", 1.5, "payload"}}, Opts: &Opts{Rooms: []string{"room"}, Flags: &Flags{}}}
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf, _ = AppendClusterMessage(buf[:0], m)
	}
}

// Found by FuzzRedisBroadcast: a packet whose nsp is not a string (Node drops
// it) was decoded with no namespace and re-encoded without the key.
func TestDecodeBroadcastNonStringNsp(t *testing.T) {
	for _, in := range []string{"\x930\x8300\xa4data\x940000\xa3nsp0\x80", `["u",{"type":2,"data":["e"],"nsp":null},{}]`} {
		if _, err := DecodeBroadcast([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", in, err)
		}
	}
}
