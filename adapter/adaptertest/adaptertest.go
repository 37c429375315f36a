// Package adaptertest is the contract suite every adapter.Adapter runs: Run takes
// a function that returns the Factory of a fresh, isolated adapter and checks the
// single-server contract (rooms index, broadcast targets with rooms/except/flags,
// encode-once delivery, acks, fetchSockets, socketsJoin/Leave, disconnectSockets,
// server-side emits, close) against a fake namespace.
package adaptertest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// NewFactory returns the factory of a new adapter that shares no state with the
// adapters of earlier calls (for a cluster adapter: its own key prefix).
type NewFactory func(t *testing.T) adapter.Factory

// Run runs the contract suite.
func Run(t *testing.T, newFactory NewFactory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ns *FakeNamespace)
	}{
		{"Rooms", testRooms},
		{"BroadcastAll", testBroadcastAll},
		{"BroadcastRooms", testBroadcastRooms},
		{"BroadcastExcept", testBroadcastExcept},
		{"BroadcastEncodesOnce", testEncodesOnce},
		{"BroadcastFlags", testFlags},
		{"BroadcastWithAck", testBroadcastWithAck},
		{"FetchSockets", testFetchSockets},
		{"AddDelSockets", testAddDelSockets},
		{"DisconnectSockets", testDisconnectSockets},
		{"ServerSide", testServerSide},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := NewFakeNamespace("/test")
			a, err := newFactory(t)(ns)
			if err != nil {
				t.Fatalf("factory: %v", err)
			}
			ns.Adapter = a
			t.Cleanup(func() { _ = a.Close(context.Background()) })
			tc.fn(t, ns)
		})
	}
}

// FakeNamespace is an adapter.Namespace over fake sockets that record what they
// are sent.
type FakeNamespace struct {
	Adapter adapter.Adapter

	name    string
	mu      sync.Mutex
	sockets map[string]*FakeSocket
	encodes int
	ackID   uint64
	emits   [][]any
}

// FakeSocket records the messages delivered to one socket.
type FakeSocket struct {
	ID        string
	Data      any
	Delivered [][]parser.Message
	Flags     []adapter.Flags
	Closed    bool // disconnected with close
	ack       func([]any)
	ackID     uint64
}

// NewFakeNamespace returns an empty fake namespace.
func NewFakeNamespace(name string) *FakeNamespace {
	return &FakeNamespace{name: name, sockets: make(map[string]*FakeSocket)}
}

// Connect adds a socket and joins it to its own room and to rooms.
func (f *FakeNamespace) Connect(t *testing.T, id string, rooms ...string) *FakeSocket {
	t.Helper()
	s := &FakeSocket{ID: id}
	f.mu.Lock()
	f.sockets[id] = s
	f.mu.Unlock()
	if err := f.Adapter.AddAll(context.Background(), id, append([]string{id}, rooms...)); err != nil {
		t.Fatalf("AddAll: %v", err)
	}
	return s
}

// Socket returns the fake socket id, or nil.
func (f *FakeNamespace) Socket(id string) *FakeSocket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sockets[id]
}

// Received returns the ids of the sockets that got n deliveries so far, sorted.
func (f *FakeNamespace) Received(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id, s := range f.sockets {
		if len(s.Delivered) == n {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Name implements adapter.Namespace.
func (f *FakeNamespace) Name() string { return f.name }

// Encode implements adapter.Namespace: the message is the event name.
func (f *FakeNamespace) Encode(p *parser.Packet) ([]parser.Message, error) {
	f.mu.Lock()
	f.encodes++
	f.mu.Unlock()
	return []parser.Message{{Data: []byte(p.Event)}}, nil
}

// Deliver implements adapter.Namespace.
func (f *FakeNamespace) Deliver(id string, msgs []parser.Message, flags *adapter.Flags) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil {
		return false
	}
	s.Delivered = append(s.Delivered, msgs)
	s.Flags = append(s.Flags, *flags)
	return true
}

// NextAckID implements adapter.Namespace.
func (f *FakeNamespace) NextAckID() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ackID++
	return f.ackID
}

// DeliverWithAck implements adapter.Namespace.
func (f *FakeNamespace) DeliverWithAck(_ context.Context, id string, msgs []parser.Message,
	flags *adapter.Flags, ackID uint64, onAck func([]any)) bool {
	if !f.Deliver(id, msgs, flags) {
		return false
	}
	f.mu.Lock()
	s := f.sockets[id]
	s.ack, s.ackID = onAck, ackID
	f.mu.Unlock()
	return true
}

// Answer makes socket id answer its pending ack with args.
func (f *FakeNamespace) Answer(id string, args ...any) (ackID uint64, ok bool) {
	f.mu.Lock()
	s := f.sockets[id]
	var fn func([]any)
	if s != nil {
		fn, ackID, s.ack = s.ack, s.ackID, nil
	}
	f.mu.Unlock()
	if fn == nil {
		return 0, false
	}
	fn(args)
	return ackID, true
}

// SocketInfo implements adapter.Namespace.
func (f *FakeNamespace) SocketInfo(id string) (adapter.SocketInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil {
		return adapter.SocketInfo{}, false
	}
	return adapter.SocketInfo{ID: id, Data: s.Data, Handshake: &adapter.Handshake{Address: "127.0.0.1"}}, true
}

// Disconnect implements adapter.Namespace.
func (f *FakeNamespace) Disconnect(id string, close bool) {
	f.mu.Lock()
	s := f.sockets[id]
	delete(f.sockets, id)
	if s != nil {
		s.Closed = close
	}
	f.mu.Unlock()
	if s != nil {
		_ = f.Adapter.DelAll(context.Background(), id)
	}
}

// ServerSideEmit implements adapter.Namespace.
func (f *FakeNamespace) ServerSideEmit(args []any, ack func(any)) {
	f.mu.Lock()
	f.emits = append(f.emits, args)
	f.mu.Unlock()
	if ack != nil {
		ack("ok")
	}
}

var ctx = context.Background()

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func wantIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = sorted(got), sorted(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func testRooms(t *testing.T, ns *FakeNamespace) {
	a := ns.Adapter
	ns.Connect(t, "a", "r1", "r2")
	ns.Connect(t, "b", "r2")
	wantIDs(t, "rooms of a", a.SocketRooms("a"), []string{"a", "r1", "r2"})
	ids, err := a.Sockets(ctx, []string{"r2"})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "sockets in r2", ids, []string{"a", "b"})
	ids, _ = a.Sockets(ctx, nil)
	wantIDs(t, "all sockets", ids, []string{"a", "b"})
	rooms, _ := a.Rooms(ctx)
	wantIDs(t, "rooms", rooms, []string{"a", "b", "r1", "r2"})
	if err := a.Del(ctx, "a", "r1"); err != nil {
		t.Fatal(err)
	}
	rooms, _ = a.Rooms(ctx)
	wantIDs(t, "rooms after leaving the only member", rooms, []string{"a", "b", "r2"})
	if err := a.DelAll(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if r := a.SocketRooms("a"); len(r) != 0 {
		t.Fatalf("rooms after DelAll: %v", r)
	}
	ids, _ = a.Sockets(ctx, []string{"r2"})
	wantIDs(t, "r2 after DelAll", ids, []string{"b"})
}

func broadcast(t *testing.T, ns *FakeNamespace, opts *adapter.BroadcastOptions) {
	t.Helper()
	p := &parser.Packet{Type: parser.Event, Event: "ev", Args: []any{1}}
	if err := ns.Adapter.Broadcast(ctx, p, opts); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
}

func testBroadcastAll(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r1")
	ns.Connect(t, "b")
	ns.Connect(t, "c", "r2")
	broadcast(t, ns, &adapter.BroadcastOptions{})
	wantIDs(t, "received", ns.Received(1), []string{"a", "b", "c"})
	broadcast(t, ns, nil)
	wantIDs(t, "received (nil options)", ns.Received(2), []string{"a", "b", "c"})
}

func testBroadcastRooms(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r1", "r2")
	ns.Connect(t, "b", "r2")
	ns.Connect(t, "c", "r3")
	ns.Connect(t, "d")
	broadcast(t, ns, &adapter.BroadcastOptions{Rooms: []string{"r1", "r2", "c"}})
	wantIDs(t, "received once", ns.Received(1), []string{"a", "b", "c"})
	wantIDs(t, "not received", ns.Received(0), []string{"d"})
	broadcast(t, ns, &adapter.BroadcastOptions{Rooms: []string{"nobody"}})
	wantIDs(t, "empty room", ns.Received(2), nil)
}

func testBroadcastExcept(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r1")
	ns.Connect(t, "b", "r1", "x")
	ns.Connect(t, "c", "r2")
	ns.Connect(t, "d", "r2")
	broadcast(t, ns, &adapter.BroadcastOptions{Except: []string{"x", "d"}})
	wantIDs(t, "received", ns.Received(1), []string{"a", "c"})
	broadcast(t, ns, &adapter.BroadcastOptions{Rooms: []string{"r1", "r2"}, Except: []string{"a"}})
	wantIDs(t, "received twice", ns.Received(2), []string{"c"})
	wantIDs(t, "received once", ns.Received(1), []string{"a", "b", "d"})
}

func testEncodesOnce(t *testing.T, ns *FakeNamespace) {
	for _, id := range []string{"a", "b", "c", "d"} {
		ns.Connect(t, id)
	}
	broadcast(t, ns, nil)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.encodes != 1 {
		t.Fatalf("encodes: %d, want 1", ns.encodes)
	}
	var first *byte
	for id, s := range ns.sockets {
		if len(s.Delivered) != 1 {
			t.Fatalf("%s: %d deliveries", id, len(s.Delivered))
		}
		p := &s.Delivered[0][0].Data[0]
		if first == nil {
			first = p
		} else if p != first {
			t.Fatalf("%s got a copy of the encoded bytes; want the same bytes for every target", id)
		}
	}
}

func testFlags(t *testing.T, ns *FakeNamespace) {
	s := ns.Connect(t, "a")
	broadcast(t, ns, &adapter.BroadcastOptions{Flags: adapter.Flags{Volatile: true, NoCompress: true, Local: true}})
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if len(s.Flags) != 1 || !s.Flags[0].Volatile || !s.Flags[0].NoCompress {
		t.Fatalf("flags delivered: %+v", s.Flags)
	}
}

func testBroadcastWithAck(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r")
	ns.Connect(t, "b", "r")
	ns.Connect(t, "c")
	type ack struct {
		id   string
		args []any
	}
	var (
		mu     sync.Mutex
		counts []int
		acks   []ack
		gotIDs []string
	)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p := &parser.Packet{Type: parser.Event, Event: "q"}
	err := ns.Adapter.BroadcastWithAck(cctx, p, &adapter.BroadcastOptions{Rooms: []string{"r"}},
		func(n int, ids []string) {
			mu.Lock()
			counts = append(counts, n)
			gotIDs = append(gotIDs, ids...)
			mu.Unlock()
		},
		func(id string, args []any) {
			mu.Lock()
			acks = append(acks, ack{id, args})
			mu.Unlock()
		})
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasID {
		t.Fatal("the packet got no ack id")
	}
	for _, id := range []string{"a", "b"} {
		ackID, ok := ns.Answer(id, id+"!")
		if !ok {
			t.Fatalf("%s has no pending ack", id)
		}
		if ackID != p.ID {
			t.Fatalf("%s: ack id %d, packet id %d", id, ackID, p.ID)
		}
	}
	if _, ok := ns.Answer("c"); ok {
		t.Fatal("c was not a target but was asked for an ack")
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 2 {
		t.Fatalf("client counts %v, want a total of 2", counts)
	}
	wantIDs(t, "local targets", gotIDs, []string{"a", "b"})
	if len(acks) != 2 {
		t.Fatalf("acks: %v", acks)
	}
	for _, a := range acks {
		if len(a.args) != 1 || a.args[0] != a.id+"!" {
			t.Fatalf("ack from %q: %v", a.id, a.args)
		}
	}
}

func testFetchSockets(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r")
	ns.Connect(t, "b", "r", "x")
	ns.Connect(t, "c")
	ns.Socket("a").Data = map[string]any{"user": "ann"}
	got, err := ns.Adapter.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"r"}, Except: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("fetched %+v, want socket a", got)
	}
	wantIDs(t, "rooms of a", got[0].Rooms, []string{"a", "r"})
	if m, ok := got[0].Data.(map[string]any); !ok || m["user"] != "ann" {
		t.Fatalf("data: %#v", got[0].Data)
	}
	if got[0].Handshake == nil || got[0].Handshake.Address != "127.0.0.1" {
		t.Fatalf("handshake: %+v", got[0].Handshake)
	}
	all, err := ns.Adapter.FetchSockets(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("fetched %d sockets, want 3", len(all))
	}
}

func testAddDelSockets(t *testing.T, ns *FakeNamespace) {
	a := ns.Adapter
	ns.Connect(t, "a", "r")
	ns.Connect(t, "b", "r")
	ns.Connect(t, "c")
	if err := a.AddSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"r"}, Except: []string{"b"}}, []string{"n1", "n2"}); err != nil {
		t.Fatal(err)
	}
	ids, _ := a.Sockets(ctx, []string{"n2"})
	wantIDs(t, "joined n2", ids, []string{"a"})
	if err := a.AddSockets(ctx, nil, []string{"all"}); err != nil {
		t.Fatal(err)
	}
	ids, _ = a.Sockets(ctx, []string{"all"})
	wantIDs(t, "joined all", ids, []string{"a", "b", "c"})
	if err := a.DelSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"n1"}}, []string{"all", "n1"}); err != nil {
		t.Fatal(err)
	}
	ids, _ = a.Sockets(ctx, []string{"all"})
	wantIDs(t, "left all", ids, []string{"b", "c"})
	wantIDs(t, "rooms of a", a.SocketRooms("a"), []string{"a", "r", "n2"})
}

func testDisconnectSockets(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a", "r")
	ns.Connect(t, "b", "r")
	c := ns.Connect(t, "c")
	a := ns.Socket("a")
	if err := ns.Adapter.DisconnectSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"r"}}, true); err != nil {
		t.Fatal(err)
	}
	if ns.Socket("a") != nil || ns.Socket("b") != nil || ns.Socket("c") == nil {
		t.Fatal("wrong sockets disconnected")
	}
	if !a.Closed {
		t.Fatal("close flag not passed on")
	}
	ids, _ := ns.Adapter.Sockets(ctx, nil)
	wantIDs(t, "left", ids, []string{"c"})
	if err := ns.Adapter.DisconnectSockets(ctx, nil, false); err != nil {
		t.Fatal(err)
	}
	if ns.Socket("c") != nil || c.Closed {
		t.Fatal("c: not disconnected, or closed without close")
	}
}

func testServerSide(t *testing.T, ns *FakeNamespace) {
	n, err := ns.Adapter.ServerCount(ctx)
	if err != nil || n < 1 {
		t.Fatalf("ServerCount: %d, %v", n, err)
	}
	if err := ns.Adapter.ServerSideEmit(ctx, []any{"hello", 1}); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	answers, err := ns.Adapter.ServerSideEmitWithAck(cctx, []any{"hello"})
	if err != nil {
		t.Fatal(err)
	}
	if len(answers) != n-1 {
		t.Fatalf("answers %v from %d servers", answers, n)
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if len(ns.emits) != 0 {
		t.Fatalf("server-side emit dispatched on its own server: %v", ns.emits)
	}
}

func testClose(t *testing.T, ns *FakeNamespace) {
	ns.Connect(t, "a")
	if err := ns.Adapter.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ns.Adapter.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	err := ns.Adapter.Broadcast(ctx, &parser.Packet{Type: parser.Event, Event: "x"}, nil)
	if !errors.Is(err, adapter.ErrClosed) {
		t.Fatalf("Broadcast after Close: %v, want ErrClosed", err)
	}
}
