package adapter_test

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/parser"
)

func TestMemoryContract(t *testing.T) {
	adaptertest.Run(t, func(*testing.T) adapter.Factory { return adapter.NewMemory })
}

// TestMemoryOwnRooms covers the rooms a socket's id names: the socket itself
// is a member without a member set, another socket may join the same room,
// and the socket may leave its own room.
func TestMemoryOwnRooms(t *testing.T) {
	ctx := context.Background()
	ns := adaptertest.NewFakeNamespace("/")
	a, _ := adapter.NewMemory(ns)
	ns.Adapter = a
	ns.Connect(t, "a")
	ns.Connect(t, "b", "a") // b joins the room named by a's id
	ns.Connect(t, "c", "r")
	got, _ := a.Sockets(ctx, []string{"a"})
	wantSorted(t, "sockets in a", got, []string{"a", "b"})
	rooms, _ := a.Rooms(ctx)
	wantSorted(t, "rooms", rooms, []string{"a", "b", "c", "r"})
	got, _ = a.Sockets(ctx, []string{"a", "b", "r"})
	wantSorted(t, "sockets in a, b, r", got, []string{"a", "b", "c"})
	broadcastTo(t, a, &adapter.BroadcastOptions{Except: []string{"a"}})
	wantSorted(t, "all but room a", ns.Received(1), []string{"c"})
	broadcastTo(t, a, &adapter.BroadcastOptions{Rooms: []string{"a", "c"}, Except: []string{"b"}})
	wantSorted(t, "rooms a and c but room b: twice", ns.Received(2), []string{"c"})
	wantSorted(t, "rooms a and c but room b: once", ns.Received(1), []string{"a"})
	wantSorted(t, "rooms a and c but room b: never", ns.Received(0), []string{"b"})

	if err := a.Del(ctx, "a", "a"); err != nil {
		t.Fatal(err)
	}
	if r := a.SocketRooms("a"); len(r) != 0 {
		t.Fatalf("rooms of a after leaving its own: %v", r)
	}
	got, _ = a.Sockets(ctx, []string{"a"})
	wantSorted(t, "sockets in a after a left it", got, []string{"b"})
	got, _ = a.Sockets(ctx, nil)
	wantSorted(t, "all sockets", got, []string{"a", "b", "c"})
	if err := a.DelAll(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	rooms, _ = a.Rooms(ctx)
	wantSorted(t, "rooms after b left", rooms, []string{"c", "r"})
}

// TestMemoryManyRooms joins one socket to more rooms than are searched in
// order, twice each, and leaves them one by one.
func TestMemoryManyRooms(t *testing.T) {
	ctx := context.Background()
	ns := adaptertest.NewFakeNamespace("/")
	a, _ := adapter.NewMemory(ns)
	ns.Adapter = a
	ns.Connect(t, "s")
	want := []string{"s"}
	for i := range 40 {
		r := "room-" + strconv.Itoa(i)
		want = append(want, r)
		if err := a.AddAll(ctx, "s", []string{r, r, "s"}); err != nil {
			t.Fatal(err)
		}
	}
	wantSorted(t, "rooms of s", a.SocketRooms("s"), want)
	for i := range 40 {
		r := "room-" + strconv.Itoa(i)
		if err := a.Del(ctx, "s", r); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Sockets(ctx, []string{r}); len(got) != 0 {
			t.Fatalf("sockets in %s after s left: %v", r, got)
		}
		if err := a.AddAll(ctx, "s", []string{r}); err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Sockets(ctx, []string{r}); len(got) != 1 {
			t.Fatalf("sockets in %s after s joined again: %v", r, got)
		}
	}
	wantSorted(t, "rooms of s at the end", a.SocketRooms("s"), want)
}

func broadcastTo(t *testing.T, a adapter.Adapter, opts *adapter.BroadcastOptions) {
	t.Helper()
	p := &parser.Packet{Type: parser.Event, Event: "ev", Args: []any{1}}
	if err := a.Broadcast(context.Background(), p, opts); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
}

func wantSorted(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// batchNamespace is a FakeNamespace that also delivers in batches.
type batchNamespace struct {
	*adaptertest.FakeNamespace
	batches int
}

func (b *batchNamespace) DeliverBatch(ids []string, msgs []parser.Message, flags *adapter.Flags) {
	b.batches++
	for _, id := range ids {
		b.Deliver(id, msgs, flags)
	}
}

// TestMemoryDeliverBatch checks that a broadcast is handed in one batch to a
// Namespace that delivers in batches, to the same sockets as one by one.
func TestMemoryDeliverBatch(t *testing.T) {
	ns := &batchNamespace{FakeNamespace: adaptertest.NewFakeNamespace("/")}
	a, _ := adapter.NewMemory(ns)
	ns.Adapter = a
	ns.Connect(t, "a", "r")
	ns.Connect(t, "b", "r")
	ns.Connect(t, "c")
	broadcastTo(t, a, &adapter.BroadcastOptions{Rooms: []string{"r"}})
	if ns.batches != 1 {
		t.Fatalf("%d batches, want 1", ns.batches)
	}
	wantSorted(t, "received", ns.Received(1), []string{"a", "b"})
	wantSorted(t, "not received", ns.Received(0), []string{"c"})
}

// TestMemoryThousandsOfRooms checks a socket in thousands of rooms against a model:
// the rooms it is in come back in the order joined through leaves, rejoins
// and the compactions that leaves trigger, the room index agrees, and
// SocketRoomCount counts what a join would add.
func TestMemoryThousandsOfRooms(t *testing.T) {
	ctx := context.Background()
	ns := adaptertest.NewFakeNamespace("/")
	a, _ := adapter.NewMemory(ns)
	ns.Adapter = a
	m := a.(*adapter.Memory)
	const n = 5000
	room := func(i int) string { return "r" + strconv.Itoa(i) }
	var model []string // rooms of "s" in the order joined
	join := func(rs ...string) {
		t.Helper()
		if err := a.AddAll(ctx, "s", rs); err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r != "s" && !slices.Contains(model, r) {
				model = append(model, r)
			}
		}
	}
	leave := func(r string) {
		t.Helper()
		if err := a.Del(ctx, "s", r); err != nil {
			t.Fatal(err)
		}
		if i := slices.Index(model, r); i >= 0 {
			model = slices.Delete(model, i, i+1)
		}
	}
	check := func(step string) {
		t.Helper()
		want := append([]string{"s"}, model...)
		if got := a.SocketRooms("s"); !slices.Equal(got, want) {
			t.Fatalf("%s: %d rooms, want %d (first %q, want %q)", step, len(got), len(want), head(got), head(want))
		}
		if got := m.SocketRoomCount("s", nil); got != len(model) {
			t.Fatalf("%s: SocketRoomCount = %d, want %d", step, got, len(model))
		}
		all, _ := a.Rooms(ctx)
		if len(all) != len(want) {
			t.Fatalf("%s: index has %d rooms, want %d", step, len(all), len(want))
		}
	}
	join("s")
	for i := range n {
		join(room(i))
	}
	check("joined")
	for i := 0; i < n; i += 2 { // every other room: compacts several times
		leave(room(i))
	}
	check("left the even rooms")
	join(room(0), room(3), "", room(n)) // a rejoin, a duplicate, "" and a new one
	check("rejoined")
	leave("")
	leave(room(n + 1)) // not in it
	for i := 1; i < n-20; i += 2 {
		leave(room(i))
	}
	check("left most")
	if got, _ := a.Sockets(ctx, []string{room(n - 1)}); !slices.Equal(got, []string{"s"}) {
		t.Fatalf("sockets in %s = %q", room(n-1), got)
	}
	if got, _ := a.Sockets(ctx, []string{room(1)}); len(got) != 0 {
		t.Fatalf("sockets in a room left = %q", got)
	}
	// What a join would add: new rooms once each, not the rooms in, not its own.
	if got, want := m.SocketRoomCount("s", []string{room(n - 1), "s", "x", "x", "y"}), len(model)+2; got != want {
		t.Fatalf("SocketRoomCount with a join = %d, want %d", got, want)
	}
	many := make([]string, 0, 40)
	for i := range 20 {
		many = append(many, "n"+strconv.Itoa(i), "n"+strconv.Itoa(i))
	}
	if got, want := m.SocketRoomCount("s", many), len(model)+20; got != want {
		t.Fatalf("SocketRoomCount with 20 rooms twice = %d, want %d", got, want)
	}
	if !m.HasSocket("s") || m.HasSocket(room(1)) {
		t.Fatal("HasSocket: s not found, or a room taken for a socket")
	}
	if err := a.DelAll(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if all, _ := a.Rooms(ctx); len(all) != 0 {
		t.Fatalf("rooms after DelAll: %d", len(all))
	}
	if m.HasSocket("s") {
		t.Fatal("HasSocket after DelAll")
	}
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// TestMemoryRoomsReleased: the index's heap comes back within 1 MiB of its
// size before one socket joined and left 100,000 rooms (a Go map keeps the
// memory of its largest size unless it is rebuilt).
func TestMemoryRoomsReleased(t *testing.T) {
	ctx := context.Background()
	a, _ := adapter.NewMemory(adaptertest.NewFakeNamespace("/"))
	_ = a.AddAll(ctx, "keep", []string{"keep", "k"})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	h0 := heap()
	rooms := make([]string, 100_000)
	for i := range rooms {
		rooms[i] = "room-" + strconv.Itoa(i)
	}
	_ = a.AddAll(ctx, "s", rooms)
	h1 := heap()
	for _, r := range rooms {
		_ = a.Del(ctx, "s", r)
	}
	_ = a.DelAll(ctx, "s")
	rooms = nil
	h2 := heap()
	t.Logf("heap %s -> %s with 100,000 rooms -> %s after", mib(h0), mib(h1), mib(h2))
	if h2 > h0+1<<20 {
		t.Fatalf("heap after leaving %s, before %s: the rooms' memory was kept", mib(h2), mib(h0))
	}
	if got, _ := a.Sockets(ctx, []string{"k"}); len(got) != 1 {
		t.Fatalf("sockets in k = %v", got)
	}
	runtime.KeepAlive(a)
}

func mib(b uint64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }
