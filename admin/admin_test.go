package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fixture struct {
	srv *socketio.Server
	adm *admin.Admin
	ts  *httptest.Server
}

func newFixture(t *testing.T, opts *admin.Options) *fixture {
	t.Helper()
	so := &socketio.ServerOptions{Logger: quiet}
	if opts.Rooms != nil {
		so.Adapter = opts.Rooms.Wrap(nil)
	}
	srv := socketio.NewServer(so)
	srv.Of("/chat")
	adm, err := admin.Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := testutil.Serve(t, srv, func(ctx context.Context) error {
		_ = adm.Close()
		return srv.Shutdown(ctx)
	})
	return &fixture{srv: srv, adm: adm, ts: ts}
}

func clientOpts(auth any) *socketio.ClientOptions {
	o := &socketio.ClientOptions{}
	o.DisableReconnection = true
	o.Auth = auth
	return o
}

// recorder collects the events an admin client receives.
type recorder struct{ ch chan rec }

type rec struct {
	event string
	args  socketio.Args
}

func record(t *testing.T, f *fixture, auth any) (*socketio.ClientSocket, *recorder, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := socketio.NewClientSocket(f.ts.URL+"/admin", clientOpts(auth))
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ch: make(chan rec, 1024)}
	c.OnAny(func(event string, args socketio.Args) {
		select {
		case r.ch <- rec{event, args}:
		default:
		}
	})
	if err := c.Connect(ctx); err != nil {
		c.Manager().Close()
		return nil, nil, err
	}
	t.Cleanup(func() { c.Manager().Close() })
	return c, r, nil
}

// next waits for event and returns its arguments, skipping the others.
func (r *recorder) next(t *testing.T, event string, match func(socketio.Args) bool) socketio.Args {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.ch:
			if e.event == event && (match == nil || match(e.args)) {
				return e.args
			}
		case <-deadline:
			t.Fatalf("no %s event", event)
			return nil
		}
	}
}

func decode[T any](t *testing.T, args socketio.Args, i int) T {
	t.Helper()
	var v T
	if err := args.Decode(i, &v); err != nil {
		t.Fatalf("decode arg %d: %v", i, err)
	}
	return v
}

// user connects an ordinary client to nsp and returns it and its server socket.
func user(t *testing.T, f *fixture, nsp string) (*socketio.ClientSocket, *socketio.Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := socketio.Connect(ctx, f.ts.URL+nsp, clientOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Manager().Close() })
	var s *socketio.Socket
	waitFor(t, func() bool { s = f.srv.Of(nsp).Socket(c.ID()); return s != nil })
	return c, s
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInstrumentNeedsAuth(t *testing.T) {
	srv := socketio.NewServer(&socketio.ServerOptions{Logger: quiet})
	defer srv.Shutdown(context.Background())
	if _, err := admin.Instrument(srv, nil); !errors.Is(err, admin.ErrNoAuth) {
		t.Fatalf("Instrument without auth: %v, want ErrNoAuth", err)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, &admin.Options{Auth: func(u, p string) bool { return u == "admin" && p == "s3cret" }})

	for _, bad := range []any{nil, map[string]string{"username": "admin", "password": "nope"},
		map[string]string{"sessionId": "0123456789abcdef"}} {
		_, _, err := record(t, f, bad)
		var ce *socketio.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Fatalf("auth %v: err %v, want ConnectError invalid credentials", bad, err)
		}
	}

	_, r, err := record(t, f, map[string]string{"username": "admin", "password": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	session := decode[string](t, r.next(t, "session", nil), 0)
	if len(session) != 16 {
		t.Fatalf("session id %q, want 16 hex digits", session)
	}
	r.next(t, "config", nil)

	// The UI reconnects with its session id alone.
	_, r2, err := record(t, f, map[string]string{"sessionId": session})
	if err != nil {
		t.Fatalf("connect with the session id: %v", err)
	}
	r2.next(t, "config", nil)
}

func TestSessionsBounded(t *testing.T) {
	f := newFixture(t, &admin.Options{MaxSessions: 1, Auth: func(u, p string) bool { return p == "pw" }})
	login := func() string {
		c, r, err := record(t, f, map[string]string{"username": "a", "password": "pw"})
		if err != nil {
			t.Fatal(err)
		}
		id := decode[string](t, r.next(t, "session", nil), 0)
		c.Manager().Close()
		return id
	}
	first := login()
	login() // pushes the first out
	if _, _, err := record(t, f, map[string]string{"sessionId": first}); err == nil {
		t.Fatal("the oldest session id is still accepted over MaxSessions")
	}
}

type config struct {
	SupportedFeatures []string `json:"supportedFeatures"`
}

func TestConfigSocketsStats(t *testing.T) {
	f := newFixture(t, &admin.Options{NoAuth: true, ServerID: "corvid-1"})
	u1, s1 := user(t, f, "/")
	if err := s1.Join("r1"); err != nil {
		t.Fatal(err)
	}
	u2, _ := user(t, f, "/chat")

	_, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := decode[config](t, r.next(t, "config", nil), 0)
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	if !slices.Equal(cfg.SupportedFeatures, want) {
		t.Fatalf("features %v, want %v", cfg.SupportedFeatures, want)
	}
	socks := decode[[]admin.SerializedSocket](t, r.next(t, "all_sockets", nil), 0)
	byID := map[string]admin.SerializedSocket{}
	for _, s := range socks {
		byID[s.ID] = s
	}
	g1, ok := byID[u1.ID()]
	if !ok || g1.Nsp != "/" || !slices.Contains(g1.Rooms, "r1") || !slices.Contains(g1.Rooms, u1.ID()) {
		t.Fatalf("all_sockets lacks %s in / with room r1: %+v", u1.ID(), socks)
	}
	if g1.ClientID != u1.Manager().EngineID()[:12] || g1.Transport == "" || g1.Handshake.Address == "" || g1.Handshake.Issued == 0 {
		t.Fatalf("socket details: %+v", g1)
	}
	if g2, ok := byID[u2.ID()]; !ok || g2.Nsp != "/chat" {
		t.Fatalf("all_sockets lacks %s in /chat: %+v", u2.ID(), socks)
	}

	st := decode[admin.ServerStats](t, r.next(t, "server_stats", nil), 0)
	counts := map[string]int{}
	for _, n := range st.Namespaces {
		counts[n.Name] = n.SocketsCount
	}
	if st.ServerID != "corvid-1" || counts["/"] != 1 || counts["/chat"] != 1 || counts["/admin"] != 1 || st.ClientsCount != 3 {
		t.Fatalf("server_stats %+v (namespaces %v)", st, counts)
	}

	// A new socket and its departure are reported, and counted.
	u3, _ := user(t, f, "/")
	got := decode[admin.SerializedSocket](t, r.next(t, "socket_connected", func(a socketio.Args) bool {
		return decode[admin.SerializedSocket](t, a, 0).ID == u3.ID()
	}), 0)
	if got.Nsp != "/" {
		t.Fatalf("socket_connected %+v", got)
	}
	id3 := u3.ID()
	u3.Disconnect()
	dis := r.next(t, "socket_disconnected", func(a socketio.Args) bool { return decode[string](t, a, 1) == id3 })
	if nsp, reason := decode[string](t, dis, 0), decode[string](t, dis, 2); nsp != "/" || reason != "client namespace disconnect" {
		t.Fatalf("socket_disconnected %q %q", nsp, reason)
	}
	// The periodic stats carry the connection and the disconnection.
	seen := map[string]bool{}
	r.next(t, "server_stats", func(a socketio.Args) bool {
		for _, e := range decode[admin.ServerStats](t, a, 0).AggregatedEvents {
			seen[e.Type+"/"+e.SubType] = true
		}
		return seen["rawConnection/"] && seen["rawDisconnection/client namespace disconnect"]
	})
}

func TestCommands(t *testing.T) {
	f := newFixture(t, &admin.Options{NoAuth: true, StatsInterval: time.Hour})
	uc, us := user(t, f, "/")
	other, _ := user(t, f, "/")
	ac, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.next(t, "config", nil)

	if err := ac.Emit("join", "/", "blue", uc.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return slices.Contains(us.Rooms(), "blue") })

	got := make(chan string, 4)
	uc.On("news", func(args socketio.Args, _ socketio.AckFunc) { got <- decode[string](t, args, 0) })
	other.On("news", func(args socketio.Args, _ socketio.AckFunc) { got <- "other:" + decode[string](t, args, 0) })
	if err := ac.Emit("emit", "/", "blue", "news", "hello"); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hello" {
			t.Fatalf("emit to room blue reached %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("emit from the admin not received")
	}

	if err := ac.Emit("leave", "/", "blue", uc.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !slices.Contains(us.Rooms(), "blue") })

	// A command for a namespace that does not exist creates none.
	_ = ac.Emit("join", "/nowhere", "x")
	dis := make(chan socketio.DisconnectReason, 1)
	uc.OnDisconnect(func(r socketio.DisconnectReason) { dis <- r })
	if err := ac.Emit("_disconnect", "/", false, uc.ID()); err != nil {
		t.Fatal(err)
	}
	select {
	case reason := <-dis:
		if reason != socketio.ReasonIOServerDisconnect {
			t.Fatalf("disconnect reason %q", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("_disconnect from the admin did not disconnect the socket")
	}
	if !other.Connected() {
		t.Fatal("_disconnect of one socket disconnected another")
	}
	for _, n := range f.srv.Namespaces() {
		if n.Name() == "/nowhere" {
			t.Fatal("a command created the namespace /nowhere")
		}
	}
}

func TestReadOnly(t *testing.T) {
	f := newFixture(t, &admin.Options{NoAuth: true, ReadOnly: true, Production: true, StatsInterval: 100 * time.Millisecond})
	uc, _ := user(t, f, "/")
	ac, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := decode[config](t, r.next(t, "config", nil), 0)
	if !slices.Equal(cfg.SupportedFeatures, []string{"AGGREGATED_EVENTS"}) {
		t.Fatalf("read-only production features %v", cfg.SupportedFeatures)
	}
	_ = ac.Emit("_disconnect", "/", true, uc.ID())
	r.next(t, "server_stats", nil)
	r.next(t, "server_stats", nil)
	if !uc.Connected() {
		t.Fatal("a read-only admin disconnected a socket")
	}
	select {
	case e := <-r.ch:
		if e.event == "all_sockets" || e.event == "socket_connected" {
			t.Fatalf("production mode sent %s", e.event)
		}
	default:
	}
}

func TestRoomEvents(t *testing.T) {
	f := newFixture(t, &admin.Options{NoAuth: true, Rooms: admin.NewRoomEvents(), StatsInterval: time.Hour})
	ac, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.next(t, "config", nil)
	uc, us := user(t, f, "/")
	id := uc.ID()
	room := func(ev, want string) {
		t.Helper()
		a := r.next(t, ev, func(a socketio.Args) bool { return decode[string](t, a, 1) == want })
		if nsp, sid := decode[string](t, a, 0), decode[string](t, a, 2); nsp != "/" || sid != id {
			t.Fatalf("%s %s: nsp %q id %q, want / %s", ev, want, nsp, sid, id)
		}
	}
	room("room_joined", id) // its own room
	if err := us.Join("green"); err != nil {
		t.Fatal(err)
	}
	room("room_joined", "green")
	if err := ac.Emit("join", "/", "blue", id); err != nil {
		t.Fatal(err)
	}
	room("room_joined", "blue")
	if err := ac.Emit("leave", "/", "green", id); err != nil {
		t.Fatal(err)
	}
	room("room_left", "green")
	uc.Disconnect()
	left := map[string]bool{}
	r.next(t, "room_left", func(a socketio.Args) bool {
		if decode[string](t, a, 2) == id {
			left[decode[string](t, a, 1)] = true
		}
		return left["blue"] && left[id]
	})
}

func TestEventsReported(t *testing.T) {
	f := newFixture(t, &admin.Options{NoAuth: true, StatsInterval: time.Hour})
	_, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.next(t, "config", nil)
	uc, us := user(t, f, "/")
	id := uc.ID()
	if err := uc.Emit("ping", 1, "two"); err != nil {
		t.Fatal(err)
	}
	in := r.next(t, "event_received", func(a socketio.Args) bool { return decode[string](t, a, 1) == id })
	if got := decode[[]any](t, in, 2); decode[string](t, in, 0) != "/" || len(got) != 3 || got[0] != "ping" || got[1] != 1.0 || got[2] != "two" {
		t.Fatalf("event_received %v", got)
	}
	if err := us.Emit("pong", map[string]int{"n": 3}); err != nil {
		t.Fatal(err)
	}
	out := r.next(t, "event_sent", func(a socketio.Args) bool { return decode[string](t, a, 1) == id })
	if got := decode[[]any](t, out, 2); len(got) != 2 || got[0] != "pong" {
		t.Fatalf("event_sent %v", got)
	}
}
