package wire_test

import (
	"fmt"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// The request a server publishes to make the sockets of room1 join room2, and
// its decoding.
func ExampleAppendRequest() {
	b, _ := wire.AppendRequest(nil, &wire.Request{UID: "5cFyPU", Type: wire.RemoteJoin,
		Opts: &wire.Opts{Rooms: []string{"room1"}}, Rooms: []string{"room2"}})
	fmt.Println(string(b))
	r, _ := wire.DecodeRequest(b)
	fmt.Println(r.Type == wire.RemoteJoin, r.Opts.Rooms, r.Rooms)
	// Output:
	// {"uid":"5cFyPU","type":2,"opts":{"rooms":["room1"],"except":[]},"rooms":["room2"]}
	// true [room1] [room2]
}

// A broadcast as @socket.io/redis-emitter writes it (msgpack).
func ExampleAppendEmitterBroadcast() {
	b, _ := wire.AppendEmitterBroadcast(nil, &wire.Packet{Type: 2, Data: []any{"hi"}, Nsp: "/"}, &wire.Opts{})
	fmt.Printf("%x\n", b)
	// Output:
	// 93a7656d697474657283a47479706502a46461746191a26869a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490
}
