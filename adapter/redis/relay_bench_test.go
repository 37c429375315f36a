package redis

import (
	"strings"
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// BenchmarkClassicRelay is the adapter's share of one broadcast of the load
// harness's Redis row, whose argument came from a client (a parser.Value of
// the JSON parser holding a 100-byte string): on the sending server the
// classic message is built (toWirePacket then msgpack), on the receiving one
// it is decoded and the packet encoded for its clients, once per broadcast.
func BenchmarkClassicRelay(b *testing.B) {
	jp := parser.NewJSON(nil)
	d := jp.NewDecoder()
	in, err := d.Add(parser.Message{Data: []byte(`2["bcast","` + strings.Repeat("x", 100) + `"]`)})
	if err != nil || in == nil {
		b.Fatal(in, err)
	}
	opts := toWireOpts(nil)
	b.ReportAllocs()
	buf := make([]byte, 0, 4096)
	for b.Loop() {
		p := &parser.Packet{Type: parser.Event, Event: "msg", Args: in.Args[:1]}
		wp := toWirePacket(p, "/", false)
		payload, err := wire.AppendBroadcast(buf[:0], &wire.Broadcast{UID: "u", Packet: *wp, Opts: *opts})
		if err != nil {
			b.Fatal(err)
		}
		br, err := wire.DecodeBroadcast(payload)
		if err != nil {
			b.Fatal(err)
		}
		rp, ok := fromWirePacket(&br.Packet, "/")
		if !ok {
			b.Fatal("not an event")
		}
		if _, err := jp.Encode(rp); err != nil {
			b.Fatal(err)
		}
	}
}
