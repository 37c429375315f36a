package redis

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
)

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// ssubOf returns the sum of the ssub counts of the connections named corvid.
func ssubOf(t *testing.T, srv *testutil.RedisServer) int {
	t.Helper()
	out, err := srv.Command("CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, line := range splitLines(out) {
		if !strings.Contains(line, "name=corvid") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "ssub="); ok {
				n, _ := strconv.Atoi(v)
				sum += n
			}
		}
	}
	return sum
}

// One socket joins 100,000 rooms one by one in the sharded dynamic mode: the
// goroutine count stays flat, the subscriptions are batched on one
// connection, memory grows with the rooms and is released when they empty.
func TestDynamicManyRooms(t *testing.T) {
	const rooms = 100_000
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	c := newTestClient(t, srv.URL(), Options{Mode: Sharded, SubscriptionMode: Dynamic})
	n := newNode(t, c, "/")
	a := sid("many")
	n.ns.connect(t, a)
	c2 := newTestClient(t, srv.URL(), Options{Mode: Sharded, SubscriptionMode: Dynamic, Key: c.opts.Key})
	n2 := newNode(t, c2, "/")
	n2.a.Broadcast(ctx, ev("warm"), roomOpts("room-0")) // the publishing connection
	time.Sleep(50 * time.Millisecond)
	baseG := runtime.NumGoroutine()
	baseHeap := heapAlloc()

	peakG := baseG
	for i := 0; i < rooms; i++ {
		if err := n.a.AddAll(ctx, a, []string{"room-" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		if i%10_000 == 0 {
			peakG = max(peakG, runtime.NumGoroutine())
		}
	}
	eventually(t, "100,000 room channels subscribed", func() bool {
		peakG = max(peakG, runtime.NumGoroutine())
		return ssubOf(t, srv) == rooms+4 // and the main and response channels
	}, func() string { return strconv.Itoa(ssubOf(t, srv)) + " ssub" })
	if s := c.Stats(); s.RoomSubscriptions != rooms {
		t.Fatalf("Stats.RoomSubscriptions %d", s.RoomSubscriptions)
	}
	joined := heapAlloc()
	// A broadcast from another server to one of the rooms arrives.
	n2.a.Broadcast(ctx, ev("hello"), roomOpts("room-"+strconv.Itoa(rooms-1)))
	eventually(t, "broadcast to a room", func() bool { return len(n.ns.events(a)) == 1 })

	n.a.DelAll(ctx, a)
	eventually(t, "room channels released", func() bool { return ssubOf(t, srv) == 4 }, func() string { return strconv.Itoa(ssubOf(t, srv)) + " ssub" })
	left := heapAlloc()
	t.Logf("goroutines %d, at most %d while joining; heap %d KiB, %d KiB with %d rooms, %d KiB after leaving",
		baseG, peakG, baseHeap>>10, joined>>10, rooms, left>>10)
	if peakG > baseG+4 {
		t.Errorf("goroutines grew from %d to %d with the rooms", baseG, peakG)
	}
	if joined < baseHeap+rooms*50 {
		t.Errorf("heap %d -> %d: the rooms are not where they should be", baseHeap, joined)
	}
	if left > baseHeap+(joined-baseHeap)/10 {
		t.Errorf("heap after leaving %d KiB, before joining %d KiB, with the rooms %d KiB", left>>10, baseHeap>>10, joined>>10)
	}
	if s := c.Stats(); s.RoomSubscriptions != 0 {
		t.Fatalf("Stats.RoomSubscriptions %d after leaving", s.RoomSubscriptions)
	}
}

func roomOpts(rooms ...string) *adapter.BroadcastOptions {
	return &adapter.BroadcastOptions{Rooms: rooms}
}
