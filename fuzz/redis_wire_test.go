package fuzz

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// Fuzz targets of the Redis adapter's message decoders (adapter/redis/wire):
// decoding never panics, stays within the allocation bound, and what decodes
// re-encodes to a stable form.

func mustHexSeed(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func redisBroadcastSeeds() [][]byte {
	seeds := [][]byte{
		// notepack.io 3.0.1 goldens (emitter and adapter broadcasts)
		mustHexSeed("93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490"),
		mustHexSeed("93a661626331323383a47479706502a46461746194a47465737401a132c4020304a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380"),
		[]byte(`["u",{"type":2,"data":["e",[3]]},{"rooms":[1],"except":[]}]`),
	}
	to := true
	b, _ := wire.AppendBroadcast(nil, &wire.Broadcast{UID: "x", Packet: wire.Packet{Type: 2, Data: []any{"e", map[string]any{"k": []any{1.5, nil}}}, Nsp: "/a"},
		Opts: wire.Opts{Rooms: []string{"r"}, Except: []string{"s"}, Flags: &wire.Flags{Volatile: true, Compress: &to, Timeout: 5}}})
	return append(seeds, b)
}

func FuzzRedisBroadcast(f *testing.F) {
	for _, s := range redisBroadcastSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var b *wire.Broadcast
		var err error
		checkAllocs(t, len(in), func() { b, err = wire.DecodeBroadcast(in) })
		if err != nil {
			return
		}
		enc, err := wire.AppendBroadcast(nil, b)
		if err != nil {
			return // a value the decoder produced but msgpack cannot carry is not a bug here
		}
		b2, err := wire.DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("re-decoding %x (from %x): %v", enc, in, err)
		}
		enc2, err := wire.AppendBroadcast(nil, b2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable broadcast encoding: %x then %x (%v)", enc, enc2, err)
		}
	})
}

func redisRequestSeeds() [][]byte {
	seeds := [][]byte{
		[]byte(`{"uid":"5cFyPU","requestId":"TxUx6L","type":5,"opts":{"rooms":[],"except":[]}}`),
		[]byte(`{"uid":"5cFyPU","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}`),
		[]byte(`{"uid":"5cFyPU","requestId":"EZvlZa","type":6,"data":["sse",42]}`),
		[]byte(`{"uid":"5cFyPU","type":4,"opts":{"rooms":["room2"],"except":[]},"close":true}`),
		[]byte(`{"type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["r2"]}`),
		[]byte(`{"uid":"emitter","type":6,"data":["sse",1]}`),
		[]byte(`{"uid":"a","requestId":"b","sid":"c","room":"d","type":3}`),
	}
	b, _ := wire.AppendRequest(nil, &wire.Request{UID: "u", RequestID: "r", Type: wire.BroadcastWithAck,
		Packet: &wire.Packet{Type: 2, Data: []any{"e", []byte{1}}, Nsp: "/"}, Opts: &wire.Opts{Flags: &wire.Flags{Timeout: 1000}}})
	return append(seeds, b)
}

func FuzzRedisRequest(f *testing.F) {
	for _, s := range redisRequestSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r *wire.Request
		var err error
		checkAllocs(t, len(in), func() { r, err = wire.DecodeRequest(in) })
		if err != nil {
			return
		}
		enc, err := wire.AppendRequest(nil, r)
		if err != nil {
			return // unknown request types are decoded (and ignored) but not encoded
		}
		r2, err := wire.DecodeRequest(enc)
		if err != nil {
			t.Fatalf("re-decoding %q (from %q): %v", enc, in, err)
		}
		enc2, err := wire.AppendRequest(nil, r2)
		if err != nil {
			t.Fatal(err)
		}
		r3, _ := wire.DecodeRequest(enc2)
		enc3, _ := wire.AppendRequest(nil, r3)
		if !bytes.Equal(enc2, enc3) {
			t.Fatalf("unstable request encoding: %q then %q", enc2, enc3)
		}
	})
}

func FuzzRedisResponse(f *testing.F) {
	for _, s := range []string{
		`{"type":8,"requestId":"WulnUI","clientCount":1}`,
		`{"requestId":"q","sockets":[{"id":"abc","handshake":{"headers":{},"issued":1},"rooms":["r"],"data":{}}]}`,
		`{"requestId":"q","sockets":["a","b"]}`,
		`{"requestId":"q","rooms":["a",1]}`,
		`{"type":6,"requestId":"EZvlZa","data":"pong-42"}`,
		"\x83\xa4type\x09\xa9requestId\xa6WulnUI\xa6packet\xa4pong",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkAllocs(t, len(in), func() { wire.DecodeResponse(in) })
	})
}

func redisClusterSeeds() [][]byte {
	seeds := [][]byte{
		[]byte(`{"type":3,"data":{"packet":{"type":2,"data":["r","v"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"b84be287f6846ac5","nsp":"/"}`),
		[]byte(`{"type":11,"data":{"requestId":"q","clientCount":1},"uid":"u","nsp":"/"}`),
		[]byte(`{"type":8,"data":{"requestId":"q","sockets":[{"id":"x","handshake":{},"rooms":[],"data":null}]},"uid":"u","nsp":"/"}`),
		[]byte(`{"type":9,"data":{"packet":["e",1],"requestId":"q"},"uid":"u","nsp":"/"}`),
		[]byte(`{"type":1,"uid":"u","nsp":"/"}`),
	}
	for _, m := range []*wire.ClusterMessage{
		{Type: wire.MsgBroadcast, UID: "u", Nsp: "/", Packet: &wire.Packet{Type: 2, Data: []any{"e", []byte{3, 4}}}, Opts: &wire.Opts{}},
		{Type: wire.MsgBroadcastAck, UID: "u", Nsp: "/", RequestID: "q", Value: []byte{1}},
		{Type: wire.MsgSocketsJoin, UID: "u", Nsp: "/x", Opts: &wire.Opts{Rooms: []string{"a"}}, Rooms: []string{"b"}},
		{Type: wire.MsgDisconnectSockets, UID: "u", Nsp: "/", Opts: &wire.Opts{}, Close: true},
		{Type: wire.MsgFetchSockets, UID: "u", Nsp: "/", RequestID: "q", Opts: &wire.Opts{Flags: &wire.Flags{Timeout: 9}}},
	} {
		b, _ := wire.AppendClusterMessage(nil, m)
		seeds = append(seeds, b)
	}
	return seeds
}

func FuzzRedisClusterMessage(f *testing.F) {
	for _, s := range redisClusterSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var m *wire.ClusterMessage
		var err error
		checkAllocs(t, len(in), func() { m, err = wire.DecodeClusterMessage(in) })
		if err != nil {
			return
		}
		enc, err := wire.AppendClusterMessage(nil, m)
		if err != nil {
			return
		}
		m2, err := wire.DecodeClusterMessage(enc)
		if err != nil {
			t.Fatalf("re-decoding %q (from %q): %v", enc, in, err)
		}
		enc2, err := wire.AppendClusterMessage(nil, m2)
		if err != nil {
			t.Fatal(err)
		}
		m3, _ := wire.DecodeClusterMessage(enc2)
		enc3, _ := wire.AppendClusterMessage(nil, m3)
		if !bytes.Equal(enc2, enc3) {
			t.Fatalf("unstable cluster encoding: %q then %q", enc2, enc3)
		}
	})
}
