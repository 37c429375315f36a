package redis

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// newTestStreams dials url with a stream and channel prefix of its own (name);
// it is closed at the end of t.
func newTestStreams(t testing.TB, url, name string, o StreamsOptions) *Streams {
	t.Helper()
	o.StreamName, o.ChannelPrefix, o.SessionKeyPrefix = name, name, name+":session:"
	if o.RequestsTimeout == 0 {
		o.RequestsTimeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := DialStreams(ctx, url, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func streamsName() string { return "streams" + strconv.FormatInt(keySeq.Add(1), 10) }

func TestStreamsContract(t *testing.T) {
	srv := testutil.StartRedis(t)
	adaptertest.Run(t, func(t *testing.T) adapter.Factory {
		return newTestStreams(t, srv.URL(), streamsName(), StreamsOptions{}).NewAdapter
	})
}

// With recovery, this server's stored broadcasts reach its sockets through the
// stream reader (in stream order); the contract holds the same.
func TestStreamsContractRecovery(t *testing.T) {
	srv := testutil.StartRedis(t)
	adaptertest.Run(t, func(t *testing.T) adapter.Factory {
		return newTestStreams(t, srv.URL(), streamsName(), StreamsOptions{Recovery: true}).NewAdapter
	})
	adaptertest.RunCluster(t, func(t *testing.T) func() adapter.Factory {
		name := streamsName()
		return func() adapter.Factory {
			return newTestStreams(t, srv.URL(), name, StreamsOptions{Recovery: true}).NewAdapter
		}
	})
}

func TestStreamsClusterContract(t *testing.T) {
	srv := testutil.StartRedis(t)
	adaptertest.RunCluster(t, func(t *testing.T) func() adapter.Factory {
		name := streamsName()
		return func() adapter.Factory {
			return newTestStreams(t, srv.URL(), name, StreamsOptions{}).NewAdapter
		}
	})
}

func TestStreamNames(t *testing.T) {
	for _, tc := range []struct {
		count int
		nsp   string
		want  string
	}{
		{1, "/", "socket.io"},
		{5, "/", "socket.io-2"},               // hashCode("/") = 47
		{5, "/notifications", "socket.io--1"}, // negative hash: Node writes here but never reads
		{3, "/é", "socket.io-" + strconv.Itoa(int((int32(47)*31+0xe9)%3))},
	} {
		if got := wire.StreamName("socket.io", tc.count, tc.nsp); got != tc.want {
			t.Errorf("StreamName(%d, %q) = %q, want %q", tc.count, tc.nsp, got, tc.want)
		}
	}
}

// Sessions persisted on one Go node are restored on another, with the packets
// broadcast after the offset (from either node) that the session's rooms
// select, each carrying its entry id.
func TestStreamsRecoveryAcrossNodes(t *testing.T) {
	srv := testutil.StartRedis(t)
	name := streamsName()
	o := StreamsOptions{Recovery: true}
	st1 := newTestStreams(t, srv.URL(), name, o)
	st2 := newTestStreams(t, srv.URL(), name, o)
	ns1, ns2 := adaptertest.NewFakeNamespace("/"), adaptertest.NewFakeNamespace("/")
	a1, err := st1.NewAdapter(jsonNS{ns1})
	if err != nil {
		t.Fatal(err)
	}
	ns1.Adapter = a1
	a2, err := st2.NewAdapter(jsonNS{ns2})
	if err != nil {
		t.Fatal(err)
	}
	ns2.Adapter = a2
	defer a1.Close(context.Background())
	defer a2.Close(context.Background())
	ctx := context.Background()
	ns1.Connect(t, "s1", "r")
	bc := func(a adapter.Adapter, ev string, opts *adapter.BroadcastOptions) {
		t.Helper()
		if err := a.Broadcast(ctx, &parser.Packet{Type: parser.Event, Event: ev, Args: []any{ev}}, opts); err != nil {
			t.Fatal(err)
		}
	}
	bc(a1, "first", nil)
	s1 := ns1.Socket("s1")
	off := lastArg(t, s1.Delivered[len(s1.Delivered)-1])
	if !offsetRE.MatchString(off) {
		t.Fatalf("offset %q is not a stream entry id", off)
	}
	if err := a1.(adapter.SessionStore).PersistSession(ctx, &adapter.Session{SID: "s1", PID: "p1",
		Rooms: []string{"s1", "r"}, Data: map[string]any{"user": "bob"}}); err != nil {
		t.Fatal(err)
	}
	_ = a1.DelAll(ctx, "s1")
	bc(a2, "from-2-to-r", &adapter.BroadcastOptions{Rooms: []string{"r"}})
	bc(a1, "from-1-all", nil)
	bc(a2, "not-for-it", &adapter.BroadcastOptions{Except: []string{"r"}})
	bc(a2, "volatile", &adapter.BroadcastOptions{Flags: adapter.Flags{Volatile: true}})
	bc(a1, "to-s1", &adapter.BroadcastOptions{Rooms: []string{"s1"}})

	s, err := a2.(adapter.SessionStore).RestoreSession(ctx, "p1", off)
	if err != nil || s == nil {
		t.Fatalf("restore on the other node: %v, %v", s, err)
	}
	var got []string
	for _, p := range s.Missed {
		got = append(got, p.Event)
		if id, _ := p.Args[len(p.Args)-1].(string); !offsetRE.MatchString(id) {
			t.Errorf("%s: offset %v", p.Event, p.Args)
		}
	}
	if want := []string{"from-2-to-r", "from-1-all", "to-s1"}; !equalStrings(got, want) {
		t.Fatalf("missed %v, want %v", got, want)
	}
	if s.SID != "s1" || !equalStrings(s.Rooms, []string{"s1", "r"}) {
		t.Fatalf("session %+v", s)
	}
	if d, ok := s.Data.(map[string]any); !ok || d["user"] != "bob" {
		t.Fatalf("data %#v", s.Data)
	}
	// Node's restore deletes the session: another node cannot restore it.
	if s, _ := a1.(adapter.SessionStore).RestoreSession(ctx, "p1", off); s != nil {
		t.Fatal("restored twice")
	}
	if out, _ := srv.Command("EXISTS", name+":session:p1"); strings.TrimSpace(out) != "0" {
		t.Fatalf("session key still in Redis: %q", out)
	}
	// The node that took it answers one more restore (the server's second
	// call under its fence), with what was broadcast meanwhile; then no more.
	bc(a1, "meanwhile", nil)
	again, err := a2.(adapter.SessionStore).RestoreSession(ctx, "p1", off)
	if err != nil || again == nil || len(again.Missed) != 4 || again.Missed[3].Event != "meanwhile" {
		t.Fatalf("second restore on the same node: %+v, %v", again, err)
	}
	if s, _ := a2.(adapter.SessionStore).RestoreSession(ctx, "p1", off); s != nil {
		t.Fatal("restored a third time")
	}
	if s, _ := a1.(adapter.SessionStore).RestoreSession(ctx, "p1", "not-an-offset"); s != nil {
		t.Fatal("bad offset accepted")
	}
}

type jsonNS struct{ *adaptertest.FakeNamespace }

func (jsonNS) Encode(p *parser.Packet) ([]parser.Message, error) { return parser.JSON.Encode(p) }

func lastArg(t *testing.T, msgs []parser.Message) string {
	t.Helper()
	p, err := parser.JSON.NewDecoder().Add(msgs[0])
	if err != nil || p == nil {
		t.Fatalf("decode %q: %v", msgs[0].Data, err)
	}
	var s string
	if err := p.Args[len(p.Args)-1].(parser.Value).Decode(&s); err != nil {
		t.Fatalf("last arg of %q: %v", msgs[0].Data, err)
	}
	return s
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
