package adaptertest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// NewCluster returns a function that makes the factory of one more node of a
// new cluster: the nodes of one cluster share a backend (for Redis: a key
// prefix), and share nothing with the nodes of other calls.
type NewCluster func(t *testing.T) func() adapter.Factory

// RunCluster runs the multi-server contract with two nodes per case: broadcasts
// (rooms, except, local), fetchSockets, socketsJoin/Leave, disconnectSockets,
// serverSideEmit with and without acks, serverCount, and broadcasts with acks
// that count and collect the answers of the other server. Remote effects are
// awaited (up to 5 s), since cluster delivery is asynchronous.
func RunCluster(t *testing.T, newCluster NewCluster) {
	tests := []struct {
		name string
		fn   func(t *testing.T, n1, n2 *FakeNamespace)
	}{
		{"ServerCount", clusterServerCount},
		{"Broadcast", clusterBroadcast},
		{"FetchSockets", clusterFetch},
		{"AddDelSockets", clusterAddDel},
		{"DisconnectSockets", clusterDisconnect},
		{"ServerSideEmit", clusterServerSideEmit},
		{"BroadcastWithAck", clusterBroadcastWithAck},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := newCluster(t)
			var ns [2]*FakeNamespace
			for i := range ns {
				ns[i] = NewFakeNamespace("/test")
				a, err := node()(ns[i])
				if err != nil {
					t.Fatalf("factory: %v", err)
				}
				ns[i].Adapter = a
				t.Cleanup(func() { _ = a.Close(context.Background()) })
			}
			eventually(t, "both servers see each other", func() bool {
				n, err := ns[0].Adapter.ServerCount(ctx)
				m, err2 := ns[1].Adapter.ServerCount(ctx)
				return err == nil && err2 == nil && n == 2 && m == 2
			})
			tc.fn(t, ns[0], ns[1])
		})
	}
}

// Socket ids of the cluster cases have the reference's length (20): cluster
// adapters may route by it (the sharded Redis adapter does).
const (
	idA1 = "a1-xxxxxxxxxxxxxxxxx"
	idB1 = "b1-xxxxxxxxxxxxxxxxx"
	idB2 = "b2-xxxxxxxxxxxxxxxxx"
	idB3 = "b3-xxxxxxxxxxxxxxxxx"
)

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// events returns the event names delivered to socket id, in order.
func (f *FakeNamespace) events(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil {
		return nil
	}
	out := make([]string, 0, len(s.Delivered))
	for _, m := range s.Delivered {
		out = append(out, string(m[0].Data))
	}
	return out
}

func clusterServerCount(t *testing.T, n1, n2 *FakeNamespace) {
	for _, n := range []*FakeNamespace{n1, n2} {
		if c, err := n.Adapter.ServerCount(ctx); err != nil || c != 2 {
			t.Fatalf("ServerCount %d %v", c, err)
		}
	}
}

func clusterBroadcast(t *testing.T, n1, n2 *FakeNamespace) {
	n1.Connect(t, idA1, "blue")
	n2.Connect(t, idB1, "blue")
	n2.Connect(t, idB2, "red")
	n2.Connect(t, idB3, "blue", "muted")
	send := func(event string, opts *adapter.BroadcastOptions) {
		t.Helper()
		if err := n1.Adapter.Broadcast(ctx, &parser.Packet{Type: parser.Event, Event: event}, opts); err != nil {
			t.Fatalf("Broadcast %s: %v", event, err)
		}
	}
	send("all", nil)
	send("blue", &adapter.BroadcastOptions{Rooms: []string{"blue"}, Except: []string{"muted"}})
	send("local", &adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}})
	send("to-b2", &adapter.BroadcastOptions{Rooms: []string{idB2}})
	send("end", nil)
	eventually(t, "remote deliveries", func() bool {
		return slices.Contains(n2.events(idB1), "end") && slices.Contains(n2.events(idB2), "end") &&
			slices.Contains(n2.events(idB3), "end")
	})
	for id, want := range map[string][]string{
		idB1: {"all", "blue", "end"},
		idB2: {"all", "to-b2", "end"},
		idB3: {"all", "end"},
	} {
		got := n2.events(id)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(sorted, w) {
			t.Errorf("%s got %v, want %v (in any order)", id, got, want)
		}
	}
	if got := n1.events(idA1); !slices.Equal(got, []string{"all", "blue", "local", "end"}) {
		t.Errorf("local socket got %v", got)
	}
}

func clusterFetch(t *testing.T, n1, n2 *FakeNamespace) {
	n1.Connect(t, idA1, "blue")
	n2.Connect(t, idB1, "blue")
	n2.Connect(t, idB2)
	n2.Socket(idB1).Data = map[string]any{"user": "bob"}
	got, err := n1.Adapter.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"blue"}})
	if err != nil {
		t.Fatal(err)
	}
	var remote *adapter.SocketInfo
	var ids []string
	for i := range got {
		ids = append(ids, got[i].ID)
		if got[i].ID == idB1 {
			remote = &got[i]
		}
	}
	wantIDs(t, "fetched", ids, []string{idA1, idB1})
	if remote.Local || !slices.Contains(remote.Rooms, "blue") {
		t.Fatalf("remote socket %+v", remote)
	}
	if m, ok := remote.Data.(map[string]any); !ok || m["user"] != "bob" {
		t.Fatalf("remote data %#v", remote.Data)
	}
	local, err := n1.Adapter.FetchSockets(ctx, &adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}})
	if err != nil || len(local) != 1 || local[0].ID != idA1 {
		t.Fatalf("local fetch %+v %v", local, err)
	}
}

func clusterAddDel(t *testing.T, n1, n2 *FakeNamespace) {
	n1.Connect(t, idA1, "blue")
	n2.Connect(t, idB1, "blue")
	n2.Connect(t, idB2)
	if err := n1.Adapter.AddSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"blue"}}, []string{"green"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote join", func() bool { return slices.Contains(n2.Adapter.SocketRooms(idB1), "green") })
	eventually(t, "local join", func() bool { return slices.Contains(n1.Adapter.SocketRooms(idA1), "green") })
	if slices.Contains(n2.Adapter.SocketRooms(idB2), "green") {
		t.Fatal("b2 joined green")
	}
	if err := n1.Adapter.DelSockets(ctx, nil, []string{"green", "blue"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote leave", func() bool {
		r := n2.Adapter.SocketRooms(idB1)
		return !slices.Contains(r, "green") && !slices.Contains(r, "blue")
	})
}

func clusterDisconnect(t *testing.T, n1, n2 *FakeNamespace) {
	n1.Connect(t, idA1, "blue")
	b1 := n2.Connect(t, idB1, "blue")
	n2.Connect(t, idB2)
	if err := n1.Adapter.DisconnectSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"blue"}}, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote disconnect", func() bool { return n2.Socket(idB1) == nil })
	eventually(t, "local disconnect", func() bool { return n1.Socket(idA1) == nil })
	n2.mu.Lock()
	closed := b1.Closed
	n2.mu.Unlock()
	if !closed || n2.Socket(idB2) == nil {
		t.Fatal("close flag lost, or b2 disconnected")
	}
}

func clusterServerSideEmit(t *testing.T, n1, n2 *FakeNamespace) {
	if err := n1.Adapter.ServerSideEmit(ctx, []any{"hello", 1.0}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "server-side emit", func() bool {
		n2.mu.Lock()
		defer n2.mu.Unlock()
		return len(n2.emits) == 1
	})
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	answers, err := n1.Adapter.ServerSideEmitWithAck(cctx, []any{"ping"})
	if err != nil || len(answers) != 1 {
		t.Fatalf("answers %v, %v", answers, err)
	}
	n1.mu.Lock()
	defer n1.mu.Unlock()
	if len(n1.emits) != 0 {
		t.Fatalf("dispatched on the sending server: %v", n1.emits)
	}
}

func clusterBroadcastWithAck(t *testing.T, n1, n2 *FakeNamespace) {
	n1.Connect(t, idA1, "blue")
	n2.Connect(t, idB1, "blue")
	n2.Connect(t, idB2, "blue")
	var (
		mu      sync.Mutex
		counts  []int
		answers []string
	)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := n1.Adapter.BroadcastWithAck(cctx, &parser.Packet{Type: parser.Event, Event: "q"},
		&adapter.BroadcastOptions{Rooms: []string{"blue"}, Flags: adapter.Flags{Timeout: 5 * time.Second}},
		func(n int, _ []string) { mu.Lock(); counts = append(counts, n); mu.Unlock() },
		func(id string, args []any) {
			mu.Lock()
			defer mu.Unlock()
			if len(args) == 1 {
				if s, ok := args[0].(string); ok {
					answers = append(answers, shortID(id)+":"+s)
					return
				}
				var v string
				if val, ok := args[0].(parser.Value); ok && val.Decode(&v) == nil {
					answers = append(answers, shortID(id)+":"+v)
					return
				}
			}
			answers = append(answers, id+":?")
		})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote delivery", func() bool {
		_, ok1 := n2.pending(idB1)
		_, ok2 := n2.pending(idB2)
		return ok1 && ok2
	})
	n1.Answer(idA1, "x")
	n2.Answer(idB1, "y")
	n2.Answer(idB2, "z")
	eventually(t, "counts and answers", func() bool {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, c := range counts {
			total += c
		}
		return len(counts) == 2 && total == 3 && len(answers) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(answers)
	if !slices.Equal(answers, []string{":y", ":z", "a1:x"}) {
		t.Fatalf("answers %v", answers)
	}
}

func shortID(id string) string {
	if len(id) > 2 {
		return id[:2]
	}
	return id
}

// pending reports whether socket id has an ack registration.
func (f *FakeNamespace) pending(id string) (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil || s.ack == nil {
		return 0, false
	}
	return s.ackID, true
}
