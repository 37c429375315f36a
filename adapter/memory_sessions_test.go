package adapter_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/parser"
)

func TestMemorySessionsContract(t *testing.T) {
	adaptertest.Run(t, func(*testing.T) adapter.Factory { return adapter.NewMemorySessions(nil) })
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jsonNamespace encodes with the JSON parser, so that deliveries carry the
// offsets a client reads.
type jsonNamespace struct{ *adaptertest.FakeNamespace }

func (jsonNamespace) Encode(p *parser.Packet) ([]parser.Message, error) { return parser.JSON.Encode(p) }

func newSessions(t *testing.T, o adapter.SessionOptions) (*adaptertest.FakeNamespace, *adapter.MemorySessions, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	o.Now = clk.Now
	ns := adaptertest.NewFakeNamespace("/")
	a, err := adapter.NewMemorySessions(&o)(jsonNamespace{ns})
	if err != nil {
		t.Fatal(err)
	}
	ns.Adapter = a
	ns.Connect(t, "watcher")
	return ns, a.(*adapter.MemorySessions), clk
}

// lastDelivered returns the event name and offset of the last packet the
// watcher socket (in no room but its own) received.
func lastDelivered(t *testing.T, ns *adaptertest.FakeNamespace) (event, offset string) {
	t.Helper()
	d := ns.Socket("watcher").Delivered
	if len(d) == 0 {
		t.Fatal("nothing delivered")
	}
	p, err := parser.JSON.NewDecoder().Add(d[len(d)-1][0])
	if err != nil || p == nil {
		t.Fatalf("decode: %v", err)
	}
	if err := p.Args[len(p.Args)-1].(parser.Value).Decode(&offset); err != nil {
		t.Fatalf("no offset in %s: %v", d[len(d)-1][0].Data, err)
	}
	return p.Event, offset
}

func emit(t *testing.T, a adapter.Adapter, event string, opts *adapter.BroadcastOptions, args ...any) *parser.Packet {
	t.Helper()
	p := &parser.Packet{Type: parser.Event, Event: event, Args: args}
	if err := a.Broadcast(context.Background(), p, opts); err != nil {
		t.Fatalf("Broadcast: %v", err)
	}
	return p
}

// offsetOf returns the offset carried by the i-th missed packet of s.
func offsetOf(t *testing.T, s *adapter.Session, i int) string {
	t.Helper()
	args := s.Missed[i].Args
	off, ok := args[len(args)-1].(string)
	if !ok {
		t.Fatalf("packet %d has no offset: %v", i, args)
	}
	return off
}

func events(s *adapter.Session) []string {
	var out []string
	for _, p := range s.Missed {
		out = append(out, p.Event)
	}
	return out
}

func TestMemorySessionsReplay(t *testing.T) {
	ctx := context.Background()
	ns, a, _ := newSessions(t, adapter.SessionOptions{})
	args := []any{"x"}
	p0 := emit(t, a, "e0", nil, args...)
	if len(p0.Args) != 1 || len(args) != 1 {
		t.Fatalf("the caller's packet was modified: %v", p0.Args)
	}
	if ev, _ := lastDelivered(t, ns); ev != "e0" {
		t.Fatalf("delivered %q", ev)
	}
	_, off0 := lastDelivered(t, ns)
	if err := a.PersistSession(ctx, &adapter.Session{SID: "s1", PID: "p1", Rooms: []string{"s1", "r"}, Data: "d"}); err != nil {
		t.Fatal(err)
	}
	if s, err := a.RestoreSession(ctx, "p1", "nope"); err != nil || s != nil {
		t.Fatalf("unknown offset: %v, %v", s, err)
	}
	emit(t, a, "all", nil)
	emit(t, a, "to-r", &adapter.BroadcastOptions{Rooms: []string{"r"}})
	emit(t, a, "to-s1", &adapter.BroadcastOptions{Rooms: []string{"s1"}})
	emit(t, a, "to-other-room", &adapter.BroadcastOptions{Rooms: []string{"q"}})
	emit(t, a, "except-r", &adapter.BroadcastOptions{Except: []string{"r"}})
	emit(t, a, "volatile", &adapter.BroadcastOptions{Flags: adapter.Flags{Volatile: true}})
	if err := a.Broadcast(ctx, &parser.Packet{Type: parser.Event, Event: "with-ack", ID: 3, HasID: true}, nil); err != nil {
		t.Fatal(err)
	}
	emit(t, a, "last", nil, 1, 2)

	all, err := a.RestoreSession(ctx, "p1", off0)
	if err != nil || all == nil {
		t.Fatalf("restore: %v, %v", all, err)
	}
	want := []string{"all", "to-r", "to-s1", "last"}
	if got := events(all); !slices.Equal(got, want) {
		t.Fatalf("missed %v, want %v", got, want)
	}
	if all.SID != "s1" || all.PID != "p1" || all.Data != "d" || !slices.Equal(all.Rooms, []string{"s1", "r"}) {
		t.Fatalf("session %+v", all)
	}
	if got := all.Missed[3].Args; len(got) != 3 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("args of the last packet %v", got)
	}
	if _, off := lastDelivered(t, ns); off != offsetOf(t, all, 3) {
		t.Fatalf("delivered offset %q, replayed %q", off, offsetOf(t, all, 3))
	}
	// From the offset of "to-r", only what came after it.
	rest, err := a.RestoreSession(ctx, "p1", offsetOf(t, all, 1))
	if err != nil || rest == nil {
		t.Fatalf("restore: %v, %v", rest, err)
	}
	if got := events(rest); !slices.Equal(got, []string{"to-s1", "last"}) {
		t.Fatalf("missed after to-r: %v", got)
	}
	// From the offset of the last packet: nothing missed, still recovered.
	none, err := a.RestoreSession(ctx, "p1", offsetOf(t, all, 3))
	if err != nil || none == nil || len(none.Missed) != 0 {
		t.Fatalf("restore at the end: %+v, %v", none, err)
	}
	if s, _ := a.RestoreSession(ctx, "unknown", off0); s != nil {
		t.Fatal("unknown pid restored")
	}
}

func TestMemorySessionsWindow(t *testing.T) {
	ctx := context.Background()
	ns, a, clk := newSessions(t, adapter.SessionOptions{MaxDisconnectionDuration: time.Minute})
	emit(t, a, "e0", nil)
	_, off := lastDelivered(t, ns)
	if err := a.PersistSession(ctx, &adapter.Session{SID: "s", PID: "p", Rooms: []string{"s"}}); err != nil {
		t.Fatal(err)
	}
	emit(t, a, "e1", nil)
	clk.Add(59 * time.Second)
	s, _ := a.RestoreSession(ctx, "p", off)
	if s == nil || !slices.Equal(events(s), []string{"e1"}) {
		t.Fatalf("inside the window: %+v", s)
	}
	clk.Add(2 * time.Second)
	if s, _ := a.RestoreSession(ctx, "p", off); s != nil {
		t.Fatalf("past the window: recovered %+v", s)
	}
}

func TestMemorySessionsBounds(t *testing.T) {
	ctx := context.Background()
	ns, a, _ := newSessions(t, adapter.SessionOptions{MaxPackets: 5, MaxSessions: 2})
	emit(t, a, "e0", nil)
	_, off := lastDelivered(t, ns)
	for _, pid := range []string{"p1", "p2", "p3"} {
		if err := a.PersistSession(ctx, &adapter.Session{SID: pid, PID: pid, Rooms: []string{pid}}); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := a.RestoreSession(ctx, "p1", off); s != nil {
		t.Fatal("the oldest session over MaxSessions was kept")
	}
	if s, _ := a.RestoreSession(ctx, "p3", off); s == nil {
		t.Fatal("the newest session was dropped")
	}
	for i := 1; i <= 4; i++ {
		emit(t, a, fmt.Sprint("e", i), nil)
	}
	s, _ := a.RestoreSession(ctx, "p3", off)
	if s == nil || len(s.Missed) != 4 {
		t.Fatalf("5 packets kept: %+v", s)
	}
	emit(t, a, "e5", nil) // e0 is dropped: its offset no longer recovers
	if s, _ := a.RestoreSession(ctx, "p3", off); s != nil {
		t.Fatalf("recovered from a dropped offset: %v", events(s))
	}
}

func TestMemorySessionsMaxBytes(t *testing.T) {
	ctx := context.Background()
	ns, a, _ := newSessions(t, adapter.SessionOptions{MaxBytes: 1000})
	emit(t, a, "e0", nil, "small")
	_, off := lastDelivered(t, ns)
	if err := a.PersistSession(ctx, &adapter.Session{SID: "s", PID: "p", Rooms: []string{"s"}}); err != nil {
		t.Fatal(err)
	}
	emit(t, a, "e1", nil, strings.Repeat("a", 900))
	if s, _ := a.RestoreSession(ctx, "p", off); s == nil {
		t.Fatal("under MaxBytes: not recovered")
	}
	emit(t, a, "e2", nil, strings.Repeat("a", 200))
	if s, _ := a.RestoreSession(ctx, "p", off); s != nil {
		t.Fatal("over MaxBytes: the oldest packet was kept")
	}
}

// Broadcasts, persists and restores from many goroutines: a restore lists each
// packet once, and each sender's packets in its order (run with -race).
func TestMemorySessionsConcurrent(t *testing.T) {
	ctx := context.Background()
	ns, a, _ := newSessions(t, adapter.SessionOptions{MaxPackets: 500})
	emit(t, a, "start", nil)
	_, off := lastDelivered(t, ns)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := fmt.Sprint("p", g)
			for i := 0; i < 200; i++ {
				p := &parser.Packet{Type: parser.Event, Event: "e", Args: []any{g, i}}
				if err := a.Broadcast(ctx, p, nil); err != nil {
					t.Error(err)
					return
				}
				if i%20 == 0 {
					a.PersistSession(ctx, &adapter.Session{SID: pid, PID: pid, Rooms: []string{pid}})
					if s, _ := a.RestoreSession(ctx, pid, off); s != nil {
						seen := map[string]bool{}
						last := map[int]int{} // per sender: the packets keep its order
						for _, m := range s.Missed {
							o := m.Args[len(m.Args)-1].(string)
							if seen[o] {
								t.Errorf("offset %s twice in one restore", o)
							}
							seen[o] = true
							from, n := m.Args[0].(int), m.Args[1].(int)
							if prev, ok := last[from]; ok && n <= prev {
								t.Errorf("sender %d: %d after %d", from, n, prev)
							}
							last[from] = n
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}
