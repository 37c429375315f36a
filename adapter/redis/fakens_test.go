package redis

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// testNS is a thread-safe adapter.Namespace over fake sockets for the
// multi-server tests: it records the event names each socket receives, the
// packets encoded, and the server-side emits.
type testNS struct {
	name string
	a    adapter.Adapter

	mu       sync.Mutex
	sockets  map[string]*testSocket
	packets  map[string]*parser.Packet // last encoded packet by event
	ackID    uint64
	emits    [][]any
	sseReply any
}

type testSocket struct {
	events []string
	acks   []func([]any)
	closed bool
	data   any
}

func newTestNS(name string) *testNS {
	return &testNS{name: name, sockets: map[string]*testSocket{}, packets: map[string]*parser.Packet{}, sseReply: "ok"}
}

func (f *testNS) connect(t testing.TB, id string, rooms ...string) {
	t.Helper()
	f.mu.Lock()
	f.sockets[id] = &testSocket{data: map[string]any{"user": id}}
	f.mu.Unlock()
	if err := f.a.AddAll(context.Background(), id, append([]string{id}, rooms...)); err != nil {
		t.Fatal(err)
	}
}

func (f *testNS) events(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sockets[id]; s != nil {
		return slices.Clone(s.events)
	}
	return nil
}

func (f *testNS) connected(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sockets[id] != nil
}

func (f *testNS) packet(event string) *parser.Packet {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.packets[event]
}

// answer makes socket id answer its oldest pending ack.
func (f *testNS) answer(id string, args ...any) bool {
	f.mu.Lock()
	s := f.sockets[id]
	var fn func([]any)
	if s != nil && len(s.acks) > 0 {
		fn, s.acks = s.acks[0], s.acks[1:]
	}
	f.mu.Unlock()
	if fn == nil {
		return false
	}
	fn(args)
	return true
}

func (f *testNS) emitted() [][]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.emits)
}

func (f *testNS) Name() string { return f.name }

func (f *testNS) Encode(p *parser.Packet) ([]parser.Message, error) {
	f.mu.Lock()
	cp := *p
	f.packets[p.Event] = &cp
	f.mu.Unlock()
	return []parser.Message{{Data: []byte(p.Event)}}, nil
}

func (f *testNS) Deliver(id string, msgs []parser.Message, _ *adapter.Flags) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil {
		return false
	}
	s.events = append(s.events, string(msgs[0].Data))
	return true
}

func (f *testNS) NextAckID() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ackID++
	return f.ackID
}

func (f *testNS) DeliverWithAck(_ context.Context, id string, msgs []parser.Message, flags *adapter.Flags,
	_ uint64, onAck func([]any)) bool {
	if !f.Deliver(id, msgs, flags) {
		return false
	}
	f.mu.Lock()
	f.sockets[id].acks = append(f.sockets[id].acks, onAck)
	f.mu.Unlock()
	return true
}

func (f *testNS) SocketInfo(id string) (adapter.SocketInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sockets[id]
	if s == nil {
		return adapter.SocketInfo{}, false
	}
	return adapter.SocketInfo{ID: id, Data: s.data, Handshake: &adapter.Handshake{Address: "127.0.0.1",
		URL: "/socket.io/?EIO=4&transport=websocket"}}, true
}

func (f *testNS) Disconnect(id string, close bool) {
	f.mu.Lock()
	s := f.sockets[id]
	delete(f.sockets, id)
	if s != nil {
		s.closed = close
	}
	f.mu.Unlock()
	if s != nil {
		f.a.DelAll(context.Background(), id)
	}
}

func (f *testNS) ServerSideEmit(args []any, ack func(any)) {
	plain := make([]any, len(args))
	for i, a := range args {
		if err := a.(parser.Value).Decode(&plain[i]); err != nil {
			panic(err)
		}
	}
	f.mu.Lock()
	f.emits = append(f.emits, plain)
	reply := f.sseReply
	f.mu.Unlock()
	if ack != nil {
		ack(reply)
	}
}
