package redis

import (
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

type benchFile struct {
	Name string `json:"name"`
	Size int    `json:"size"`
	Data []byte `json:"data"`
}

// BenchmarkPublishEncode encodes a broadcast for the other servers, from the
// packet to the classic message (toWirePacket then msgpack) and to the
// sharded one (toWirePacket then the cluster envelope): with plain arguments,
// and with a struct holding binary.
func BenchmarkPublishEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		args []any
	}{
		{"Plain", []any{"hello world", 42, map[string]any{"a": 1.5, "b": []any{"x", true}}}},
		{"Struct", []any{benchFile{Name: "a.bin", Size: 1024, Data: make([]byte, 1024)}}},
	} {
		p := &parser.Packet{Type: parser.Event, Event: "msg", Args: c.args}
		opts := toWireOpts(nil)
		b.Run("Classic"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				wp := toWirePacket(p, "/", false)
				if _, err := wire.AppendBroadcast(buf[:0], &wire.Broadcast{UID: "u", Packet: *wp, Opts: *opts}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("Sharded"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 4096)
			for b.Loop() {
				wp := toWirePacket(p, "", true)
				m := &wire.ClusterMessage{Type: wire.MsgBroadcast, UID: "u", Nsp: "/", Packet: wp, Opts: opts}
				if _, err := wire.AppendClusterMessage(buf[:0], m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
