package adapter_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// nopNamespace counts deliveries.
type nopNamespace struct{ delivered int }

func (*nopNamespace) Name() string { return "/" }
func (*nopNamespace) Encode(*parser.Packet) ([]parser.Message, error) {
	return []parser.Message{{Data: []byte(`2["x"]`)}}, nil
}
func (n *nopNamespace) Deliver(string, []parser.Message, *adapter.Flags) bool {
	n.delivered++
	return true
}
func (*nopNamespace) NextAckID() uint64 { return 1 }
func (*nopNamespace) DeliverWithAck(context.Context, string, []parser.Message, *adapter.Flags, uint64, func([]any)) bool {
	return true
}
func (*nopNamespace) SocketInfo(id string) (adapter.SocketInfo, bool) {
	return adapter.SocketInfo{ID: id}, true
}
func (*nopNamespace) Disconnect(string, bool)         {}
func (*nopNamespace) ServerSideEmit([]any, func(any)) {}

const (
	bigSockets = 100_000
	bigRooms   = 1_000 // rooms in the index; each socket is in 10 of them
)

// bigIndex returns a memory adapter holding 100,000 sockets in 10 rooms each
// (plus their own), spread over 1,000 rooms of about 1,000 sockets.
func bigIndex(b *testing.B) (adapter.Adapter, *nopNamespace, []string) {
	b.Helper()
	ns := &nopNamespace{}
	a, _ := adapter.NewMemory(ns)
	ctx := context.Background()
	ids := make([]string, bigSockets)
	rooms := make([]string, 11)
	for i := range ids {
		ids[i] = "sock-" + strconv.Itoa(i)
		rooms[0] = ids[i]
		for j := 1; j <= 10; j++ {
			rooms[j] = "room-" + strconv.Itoa((i+j*97)%bigRooms)
		}
		if err := a.AddAll(ctx, ids[i], rooms); err != nil {
			b.Fatal(err)
		}
	}
	return a, ns, ids
}

// BenchmarkIndexBuild adds one socket with 10 rooms (plus its own) to the index.
func BenchmarkIndexBuild(b *testing.B) {
	ns := &nopNamespace{}
	a, _ := adapter.NewMemory(ns)
	ctx := context.Background()
	rooms := make([]string, 11)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := "sock-" + strconv.Itoa(i%bigSockets)
		rooms[0] = id
		for j := 1; j <= 10; j++ {
			rooms[j] = "room-" + strconv.Itoa((i+j*97)%bigRooms)
		}
		_ = a.AddAll(ctx, id, rooms)
		i++
	}
}

// BenchmarkIndexBroadcastRoom broadcasts to one room (~1,000 sockets) of the
// 100,000-socket index, except another room.
func BenchmarkIndexBroadcastRoom(b *testing.B) {
	a, ns, _ := bigIndex(b)
	ctx := context.Background()
	opts := &adapter.BroadcastOptions{Rooms: []string{"room-7"}, Except: []string{"room-8"}}
	p := &parser.Packet{Type: parser.Event, Event: "x"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := a.Broadcast(ctx, p, opts); err != nil {
			b.Fatal(err)
		}
	}
	if ns.delivered == 0 {
		b.Fatal("nothing delivered")
	}
}

// BenchmarkIndexJoinLeave joins and leaves a room in the 100,000-socket index.
func BenchmarkIndexJoinLeave(b *testing.B) {
	a, _, ids := bigIndex(b)
	ctx := context.Background()
	room := []string{"extra"}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		_ = a.AddAll(ctx, id, room)
		_ = a.Del(ctx, id, "extra")
		i++
	}
}

// BenchmarkIndexDisconnect removes a socket with its 11 rooms and adds it back.
func BenchmarkIndexDisconnect(b *testing.B) {
	a, _, ids := bigIndex(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		id := ids[i%len(ids)]
		rooms := a.SocketRooms(id)
		_ = a.DelAll(ctx, id)
		_ = a.AddAll(ctx, id, rooms)
		i++
	}
}

// BenchmarkIndexMemory reports the heap held by the 100,000-socket index
// (B/socket), built once per iteration.
func BenchmarkIndexMemory(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		a, _, _ := bigIndex(b)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/bigSockets, "B/socket")
		runtime.KeepAlive(a)
	}
}

// BenchmarkSocketManyRooms joins and leaves one room (and counts what a join
// would add) for a socket already in 10 to 100,000 rooms: the cost per
// operation does not grow with the rooms the socket is in.
func BenchmarkSocketManyRooms(b *testing.B) {
	for _, n := range []int{10, 1_000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			a, _ := adapter.NewMemory(&nopNamespace{})
			m := a.(*adapter.Memory)
			ctx := context.Background()
			rooms := make([]string, n)
			for i := range rooms {
				rooms[i] = "room-" + strconv.Itoa(i)
			}
			_ = a.AddAll(ctx, "s", append([]string{"s"}, rooms...))
			join := []string{""}
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				r := rooms[i%n] // a room in the middle of its list, left and joined again
				if m.SocketRoomCount("s", join) != n+1 {
					b.Fatal("count")
				}
				_ = a.Del(ctx, "s", r)
				join[0] = r
				_ = a.AddAll(ctx, "s", join)
				join[0] = "extra"
				i++
			}
		})
	}
}
