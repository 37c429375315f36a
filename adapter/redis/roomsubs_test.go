package redis

import (
	"context"
	"fmt"
	"runtime"
	"slices"
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
	checkRoomsReleased(t, c, rooms, baseHeap, joined, left)
}

// checkRoomsReleased checks the heap of a test that joined rooms rooms and
// left them: it grew with the rooms (at least 50 bytes each) and gave back
// nine tenths of that growth within 10 s (the heap is the process's: what
// other tests of the package still tear down counts until it is gone), and
// no room subscription is left.
func checkRoomsReleased(t *testing.T, c *Client, rooms int, baseHeap, joined, left uint64) {
	t.Helper()
	if joined < baseHeap+uint64(rooms)*50 {
		t.Errorf("heap %d -> %d: the rooms are not where they should be", baseHeap, joined)
	}
	for deadline := time.Now().Add(10 * time.Second); left > baseHeap+(joined-baseHeap)/10 && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		left = heapAlloc()
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

// clusterRoomChannels counts the room channels (prefix*) subscribed on each
// master of c, with PUBSUB SHARDCHANNELS.
func clusterRoomChannels(t *testing.T, c *testutil.RedisCluster, pattern string) []int {
	t.Helper()
	out := make([]int, len(c.Nodes))
	for i, n := range c.Nodes {
		s, err := n.Command("PUBSUB", "SHARDCHANNELS", pattern)
		if err != nil {
			t.Fatal(err)
		}
		if s = strings.TrimSpace(s); s != "" {
			out[i] = len(splitLines(s))
		}
	}
	return out
}

func sum(v []int) (s int) {
	for _, x := range v {
		s += x
	}
	return s
}

// One socket joins many rooms in the sharded dynamic mode on a 3-master
// Redis Cluster: the goroutine count stays flat (one connection per master,
// not one Receive per room), the channels are subscribed on the masters that
// own their slots, a broadcast from another server to a sample of the rooms
// arrives, and leaving them all unsubscribes every channel and brings the
// goroutines back.
func TestDynamicManyRoomsCluster(t *testing.T) {
	const rooms = 100_000
	cl := testutil.StartRedisCluster(t, 3)
	addrs := cl.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	ctx := context.Background()
	o := Options{Mode: Sharded, SubscriptionMode: Dynamic}
	c := newTestClient(t, url, o)
	n := newNode(t, c, "/")
	a := sid("many")
	n.ns.connect(t, a)
	o.Key = c.opts.Key
	n2 := newNode(t, newTestClient(t, url, o), "/")
	n2.a.Broadcast(ctx, ev("warm"), roomOpts("room-0")) // the publishing connections
	pattern := c.opts.Key + "#/#room-*"
	time.Sleep(50 * time.Millisecond)
	baseG := runtime.NumGoroutine()
	baseHeap := heapAlloc()

	peakG := baseG
	const batch = 1000
	for i := 0; i < rooms; i += batch {
		list := make([]string, batch)
		for j := range list {
			list[j] = "room-" + strconv.Itoa(i+j)
		}
		if err := n.a.AddAll(ctx, a, list); err != nil {
			t.Fatal(err)
		}
		peakG = max(peakG, runtime.NumGoroutine())
	}
	var per []int
	eventually(t, "room channels subscribed", func() bool {
		peakG = max(peakG, runtime.NumGoroutine())
		per = clusterRoomChannels(t, cl, pattern)
		return sum(per) == rooms
	}, func() string { return fmt.Sprint(per) })
	// per master: rueidis' reader and writer of the connection, and the
	// goroutine that watches it
	if peakG > baseG+4*len(addrs) {
		t.Fatalf("goroutines grew from %d to %d with the rooms", baseG, peakG)
	}
	for i, k := range per {
		if k < rooms/6 { // about a third each
			t.Fatalf("master %d has %d of the room channels: %v", i, k, per)
		}
	}
	if s := c.Stats(); s.RoomSubscriptions != rooms {
		t.Fatalf("Stats.RoomSubscriptions %d", s.RoomSubscriptions)
	}
	joined := heapAlloc()
	// Broadcasts from another server to a sample of the rooms arrive.
	const sample = 60
	for i := range sample {
		room := "room-" + strconv.Itoa(i*(rooms/sample)+i)
		if err := n2.a.Broadcast(ctx, ev("to-"+room), roomOpts(room)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "broadcasts to the sampled rooms", func() bool { return len(n.ns.events(a)) == sample },
		func() string { return strconv.Itoa(len(n.ns.events(a))) + " received" })

	n.a.DelAll(ctx, a)
	eventually(t, "room channels released", func() bool {
		per = clusterRoomChannels(t, cl, pattern)
		return sum(per) == 0
	}, func() string { return fmt.Sprint(per) })
	eventually(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= baseG },
		func() string { return strconv.Itoa(runtime.NumGoroutine()) })
	left := heapAlloc()
	t.Logf("goroutines %d, at most %d while joining; heap %d KiB, %d KiB with %d rooms, %d KiB after leaving; channels per master %v",
		baseG, peakG, baseHeap>>10, joined>>10, rooms, left>>10, per)
	checkRoomsReleased(t, c, rooms, baseHeap, joined, left)
}

// clusterSlot agrees with Redis' CLUSTER KEYSLOT.
func TestClusterSlot(t *testing.T) {
	srv := testutil.StartRedisCluster(t, 3)
	for _, k := range []string{"foo", "bar", "123456789", "{user1000}.following", "a{}b", "x{y}z{w}", "{", "socket.io#/#room-42#", ""} {
		if k == "" {
			if clusterSlot(k) != 0 {
				t.Errorf("slot of the empty key %d", clusterSlot(k))
			}
			continue
		}
		out, err := srv.Nodes[0].Command("CLUSTER", "KEYSLOT", k)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := strconv.Atoi(strings.TrimSpace(out)); int(clusterSlot(k)) != want {
			t.Errorf("slot of %q: %d, Redis says %d", k, clusterSlot(k), want)
		}
	}
}

// clusterNodes returns, from CLUSTER NODES, each master's id by address and
// the address of the master serving slot.
func clusterNodes(t *testing.T, cl *testutil.RedisCluster, slot int) (ids map[string]string, owner string) {
	t.Helper()
	out, err := cl.Nodes[0].Command("CLUSTER", "NODES")
	if err != nil {
		t.Fatal(err)
	}
	ids = make(map[string]string)
	for _, line := range splitLines(out) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		ids[addr] = f[0]
		for _, r := range f[8:] {
			lo, hi, ok := strings.Cut(r, "-")
			if !ok {
				hi = lo
			}
			l, err1 := strconv.Atoi(lo)
			h, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && l <= slot && slot <= h {
				owner = addr
			}
		}
	}
	return ids, owner
}

// A slot that moves to another master (Redis unsubscribes its channels) and
// a killed room connection are reported and repaired: the room channels are
// subscribed again on the masters that own them now, and broadcasts to the
// rooms arrive again.
func TestDynamicRoomsClusterSlotMoved(t *testing.T) {
	cl := testutil.StartRedisCluster(t, 3)
	// rueidis closes the connections a topology refresh replaced 5 s later,
	// from a goroutine of its own: let it end within the test.
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && slices.ContainsFunc(testutil.Goroutines(), func(g string) bool {
			return strings.Contains(g, "rueidis.(*clusterClient)._refresh")
		}) {
			time.Sleep(50 * time.Millisecond)
		}
	})
	addrs := cl.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	ctx := context.Background()
	var log eventLog
	o := Options{Mode: Sharded, SubscriptionMode: Dynamic, OnEvent: log.add}
	c := newTestClient(t, url, o)
	n := newNode(t, c, "/")
	a := sid("mover")
	rooms := []string{"mig", "stay-1", "stay-2", "stay-3"}
	n.ns.connect(t, a, rooms...)
	o.Key, o.OnEvent = c.opts.Key, nil
	n2 := newNode(t, newTestClient(t, url, o), "/")
	waitRoomChannels(t, n, 1, rooms...)

	roomEvents := func(k EventKind) int {
		log.mu.Lock()
		defer log.mu.Unlock()
		m := 0
		for _, e := range log.events {
			if e.Kind == k && e.Channel == "rooms" {
				m++
			}
		}
		return m
	}
	// every room gets a broadcast from the other server (retried while its
	// client learns where the slot went)
	round := 0
	checkBroadcasts := func(what string) {
		t.Helper()
		round++
		for _, r := range rooms {
			name := fmt.Sprintf("%s-%d", r, round)
			eventually(t, what+": broadcast to "+r, func() bool {
				return n2.a.Broadcast(ctx, ev(name), roomOpts(r)) == nil
			})
		}
		eventually(t, what+": broadcasts received", func() bool { return len(n.ns.events(a)) >= round*len(rooms) },
			func() string { return fmt.Sprint(n.ns.events(a)) })
	}
	checkBroadcasts("before")

	ch := shardedSubChannel(c.opts.Key, "/", "mig")
	slot := int(clusterSlot(ch))
	ids, src := clusterNodes(t, cl, slot)
	dst := addrs[0]
	if dst == src {
		dst = addrs[1]
	}
	s := strconv.Itoa(slot)
	run := func(addr string, args ...string) {
		t.Helper()
		if out, err := testutil.RedisCommand(addr, args...); err != nil || out != "OK" {
			t.Fatalf("%s %v: %q %v", addr, args, out, err)
		}
	}
	run(dst, "CLUSTER", "SETSLOT", s, "IMPORTING", ids[src])
	run(src, "CLUSTER", "SETSLOT", s, "MIGRATING", ids[dst])
	for _, addr := range addrs {
		run(addr, "CLUSTER", "SETSLOT", s, "NODE", ids[dst])
	}
	eventually(t, "the move reported and repaired", func() bool {
		return roomEvents(EventSubscriberDropped) == 1 && roomEvents(EventResubscribed) == 1
	}, func() string { return fmt.Sprintf("%+v", log.events) })
	shardNumSub := func(addr string) string {
		out, _ := testutil.RedisCommand(addr, "PUBSUB", "SHARDNUMSUB", ch)
		return strings.Join(strings.Fields(out), " ")
	}
	eventually(t, "the channel subscribed on its new master", func() bool {
		return shardNumSub(dst) == ch+" 1"
	}, func() string { return "new " + shardNumSub(dst) + ", old " + shardNumSub(src) })
	checkBroadcasts("after the move")

	// The subscribed connections to the master that now has "mig" are
	// killed: reported and repaired too.
	if _, err := testutil.RedisCommand(dst, "CLIENT", "KILL", "TYPE", "pubsub"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the kill reported and repaired", func() bool {
		return roomEvents(EventSubscriberDropped) == 2 && roomEvents(EventResubscribed) == 2
	}, func() string { return fmt.Sprintf("%+v", log.events) })
	waitRoomChannels(t, n, 1, rooms...)
	checkBroadcasts("after the kill")
}

// In a Redis Cluster as on a standalone Redis, once a join returns, a
// broadcast from another server to the room reaches the socket: the join
// waits for the room channel's subscription.
func TestJoinThenBroadcastCluster(t *testing.T) {
	cl := testutil.StartRedisCluster(t, 3)
	addrs := cl.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	ctx := context.Background()
	o := Options{Mode: Sharded, SubscriptionMode: Dynamic}
	c := newTestClient(t, url, o)
	n := newNode(t, c, "/")
	o.Key = c.opts.Key
	n2 := newNode(t, newTestClient(t, url, o), "/")
	a := sid("joiner")
	n.ns.connect(t, a)
	const rooms = 50
	for i := range rooms {
		r := "join-" + strconv.Itoa(i)
		if err := n.a.AddAll(ctx, a, []string{r}); err != nil {
			t.Fatal(err)
		}
		if err := n2.a.Broadcast(ctx, ev(r), roomOpts(r)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every broadcast right after its join", func() bool { return len(n.ns.events(a)) == rooms },
		func() string { return fmt.Sprint(len(n.ns.events(a)), " received: ", n.ns.events(a)) })
}
