package fuzz

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// seedsRedisWire are Redis adapter messages of every family: classic
// broadcasts (ours and the emitter's), requests, responses and cluster
// messages, plus the reference's notepack.io captures.
func seedsRedisWire() [][]byte {
	var out [][]byte
	add := func(b []byte, err error) {
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	compress := false
	pkt := wire.Packet{Type: 2, Data: []any{"hello", 1.0, "2", []byte{3, 4}, map[string]any{"x": 1.5}}, Nsp: "/"}
	opts := wire.Opts{Rooms: []string{"room1"}, Except: []string{"x"}, Flags: &wire.Flags{Volatile: true, Compress: &compress, Timeout: 500}}
	add(wire.AppendBroadcast(nil, &wire.Broadcast{UID: "abc123", Packet: pkt, Opts: opts}))
	add(wire.AppendEmitterBroadcast(nil, &pkt, &wire.Opts{}))
	for _, r := range []*wire.Request{
		{Type: wire.AllRooms, UID: "u", RequestID: "r1"},
		{Type: wire.RemoteJoin, UID: "u", Opts: &opts, Rooms: []string{"a", "b"}},
		{Type: wire.RemoteDisconnect, UID: "u", Opts: &opts, Close: true},
		{Type: wire.RemoteFetch, UID: "u", RequestID: "r2", Opts: &opts},
		{Type: wire.ServerSideEmit, UID: "u", RequestID: "r3", Data: []any{"ev", 1.0}},
		{Type: wire.BroadcastWithAck, UID: "u", RequestID: "r4", Packet: &pkt, Opts: &opts},
	} {
		add(wire.AppendRequest(nil, r))
	}
	add(wire.AppendFetchResponse(nil, "r2", []wire.SocketInfo{{ID: "s1", Handshake: map[string]any{"url": "/"}, Rooms: []string{"s1"}, Data: nil}}))
	add(wire.AppendRoomsResponse(nil, "r1", []string{"a"}))
	add(wire.AppendClientCount(nil, "r5", 3))
	add(wire.AppendBroadcastAck(nil, "r4", []byte{1}))
	add(wire.AppendServerSideEmitAck(nil, "r3", "ok"))
	for _, m := range []*wire.ClusterMessage{
		{Type: wire.MsgInitialHeartbeat, UID: "u", Nsp: "/"},
		{Type: wire.MsgBroadcast, UID: "u", Nsp: "/", Packet: &pkt, Opts: &opts},
		{Type: wire.MsgSocketsJoin, UID: "u", Nsp: "/", Opts: &opts, Rooms: []string{"r"}},
		{Type: wire.MsgFetchSocketsResponse, UID: "u", Nsp: "/", RequestID: "q", Sockets: []wire.SocketInfo{{ID: "s", Rooms: []string{}}}},
		{Type: wire.MsgServerSideEmit, UID: "u", Nsp: "/", RequestID: "q2", Args: []any{"ev", []byte{9}}},
		{Type: wire.MsgBroadcastClientCount, UID: "u", Nsp: "/", RequestID: "q3", ClientCount: 2},
	} {
		add(wire.AppendClusterMessage(nil, m))
	}
	for _, h := range []string{
		"93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490",
		"93a661626331323383a47479706502a46461746194a47465737401a132c4020304a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707490a5666c61677380",
	} {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	return out
}

// FuzzRedisWire runs every decoder of adapter/redis/wire on the input: no
// panic, bounded allocation, and for the message families with an encoder a
// stable encode(decode(x)).
func FuzzRedisWire(f *testing.F) {
	for _, s := range seedsRedisWire() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			bc  *wire.Broadcast
			req *wire.Request
			cm  *wire.ClusterMessage
			err [3]error
		)
		checkAllocs(t, len(b), func() { bc, err[0] = wire.DecodeBroadcast(b) })
		checkAllocs(t, len(b), func() { req, err[1] = wire.DecodeRequest(b) })
		checkAllocs(t, len(b), func() { _, _ = wire.DecodeResponse(b) })
		checkAllocs(t, len(b), func() { cm, err[2] = wire.DecodeClusterMessage(b) })

		if err[0] == nil {
			stable(t, "broadcast", func(x []byte) ([]byte, error) {
				v, err := wire.DecodeBroadcast(x)
				if err != nil {
					return nil, err
				}
				return wire.AppendBroadcast(nil, v)
			}, func() ([]byte, error) { return wire.AppendBroadcast(nil, bc) })
		}
		if err[1] == nil {
			stable(t, "request", func(x []byte) ([]byte, error) {
				v, err := wire.DecodeRequest(x)
				if err != nil {
					return nil, err
				}
				return wire.AppendRequest(nil, v)
			}, func() ([]byte, error) { return wire.AppendRequest(nil, req) })
		}
		if err[2] == nil {
			stable(t, "cluster message", func(x []byte) ([]byte, error) {
				v, err := wire.DecodeClusterMessage(x)
				if err != nil {
					return nil, err
				}
				return wire.AppendClusterMessage(nil, v)
			}, func() ([]byte, error) { return wire.AppendClusterMessage(nil, cm) })
		}
	})
}

// stable checks that the first encoding of a decoded message decodes again and
// encodes to the same bytes. A first encoding that fails is not checked
// further (a decoded message the encoder does not support).
func stable(t *testing.T, what string, roundTrip func([]byte) ([]byte, error), first func() ([]byte, error)) {
	t.Helper()
	enc1, err := first()
	if err != nil {
		return
	}
	enc2, err := roundTrip(enc1)
	if err != nil {
		t.Fatalf("%s: the re-encoded %q does not decode: %v", what, enc1, err)
	}
	if !bytes.Equal(enc1, enc2) {
		t.Fatalf("%s: unstable encoding:\n%q\n%q", what, enc1, enc2)
	}
}
