package socketio

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// The client's own tests. The conformance package runs the client against the
// npm socket.io server and against Server over every transport; these cover the
// pieces and a few behaviours with an in-process Server.

func TestClientBackoffMatchesReference(t *testing.T) {
	// socket.io-client's backo2: min·2^n, ± floor(r·jitter·ms) (minus when
	// floor(r·10) is even), capped at max.
	r := 0.3
	b := clientBackoff{min: time.Second, max: 5 * time.Second, jitter: 0.5, rand: func() float64 { return r }}
	want := []time.Duration{1150 * time.Millisecond, 2300 * time.Millisecond, 4600 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.duration(); got != w {
			t.Fatalf("attempt %d: %v, want %v", i+1, got, w)
		}
	}
	if b.attempts != 5 {
		t.Fatalf("attempts %d", b.attempts)
	}
	b.reset()
	r = 0.25 // floor(2.5) = 2, even: the deviation is subtracted
	if got := b.duration(); got != 875*time.Millisecond {
		t.Fatalf("after reset: %v", got)
	}
	nj := clientBackoff{min: 100 * time.Millisecond, max: time.Second}
	for i, w := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		if got := nj.duration(); got != w*time.Millisecond {
			t.Fatalf("no jitter, attempt %d: %v", i+1, got)
		}
	}
	// far past the cap, no overflow
	far := clientBackoff{min: time.Second, max: 5 * time.Second, attempts: 5000}
	if got := far.duration(); got != 5*time.Second {
		t.Fatalf("attempt 5000: %v", got)
	}
}

func TestClientOptionsDefaults(t *testing.T) {
	m := (*ManagerOptions)(nil).withDefaults()
	if m.Path != "/socket.io/" || m.Timeout != 20*time.Second || m.ReconnectionDelay != time.Second ||
		m.ReconnectionDelayMax != 5*time.Second || m.RandomizationFactor != 0.5 || m.ReconnectionAttempts != 0 ||
		m.DisableReconnection || m.Parser != parser.JSON || m.DispatchQueue != 1024 {
		t.Fatalf("defaults %+v", m)
	}
	in := &ManagerOptions{RandomizationFactor: -1, Transports: []string{"websocket"}}
	out := in.withDefaults()
	out.Transports[0] = "polling"
	if in.Transports[0] != "websocket" || out.RandomizationFactor != 0 {
		t.Fatal("options not copied, or a negative factor not turned into none")
	}
	s := (*ClientSocketOptions)(nil).withDefaults()
	if s.MaxBuffered != 1024 || s.Retries != 0 || s.AckTimeout != 0 {
		t.Fatalf("socket defaults %+v", s)
	}
}

func TestClientDispatcherOrderAndBackpressure(t *testing.T) {
	d := newClientDispatcher(2)
	var mu sync.Mutex
	var got []int
	release := make(chan struct{})
	d.push(func() { <-release })
	for i := 0; i < 3; i++ {
		i := i
		d.push(func() { mu.Lock(); got = append(got, i); mu.Unlock() })
	}
	// over the limit: pushWait waits until done is closed
	done := make(chan struct{})
	close(done)
	if d.pushWait(func() {}, done) {
		t.Fatal("pushWait did not wait on a full queue")
	}
	// and goes through once the handlers catch up
	ok := make(chan bool)
	go func() { ok <- d.pushWait(func() { mu.Lock(); got = append(got, 3); mu.Unlock() }, nil) }()
	close(release)
	if !<-ok {
		t.Fatal("pushWait gave up")
	}
	for !d.idle() {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 4 || got[0] != 0 || got[1] != 1 || got[2] != 2 || got[3] != 3 {
		t.Fatalf("order %v", got)
	}
}

func TestClientURLs(t *testing.T) {
	for _, u := range []string{"ftp://h", "http://", "::"} {
		if _, err := NewManager(u, nil); err == nil {
			t.Errorf("NewManager(%q) accepted", u)
		}
	}
	m, err := NewManager("ws://example.test:81/ignored?x=1", &ManagerOptions{Query: map[string][]string{"y": {"2"}}})
	if err != nil {
		t.Fatal(err)
	}
	if m.rawURL != "ws://example.test:81" || m.opts.Query.Get("x") != "1" || m.opts.Query.Get("y") != "2" {
		t.Fatalf("url %s query %v", m.rawURL, m.opts.Query)
	}
	for in, want := range map[string]string{"": "/", "/": "/", "admin": "/admin", "/admin": "/admin"} {
		if got := m.Socket(in, nil).Namespace(); got != want {
			t.Errorf("Socket(%q) namespace %q", in, got)
		}
	}
	if m.Socket("/admin", nil) != m.Socket("admin", nil) {
		t.Error("two sockets for one namespace")
	}
	m.Close()
}

func TestClientBufferAndReservedNames(t *testing.T) {
	m, err := NewManager("http://127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", &ClientSocketOptions{MaxBuffered: 2})
	for i := 0; i < 2; i++ {
		if err := s.Emit("e", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Emit("e", 3); !errors.Is(err, ErrClientBufferFull) {
		t.Fatalf("third emit: %v", err)
	}
	if err := s.Volatile().Emit("e", 4); err != nil {
		t.Fatalf("volatile emit while disconnected: %v", err)
	}
	if err := s.Emit("connect"); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Fatalf("reserved name: %v", err)
	}
	m.Close()
	if err := s.Emit("e"); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Connect after Close: %v", err)
	}
	if err := m.Socket("/other", nil).Open(); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("new socket after Close: %v", err)
	}
}

// clTestServer is an in-process Server with an "ack" event that answers with
// its arguments and an "echo" event.
func clTestServer(t *testing.T) (*Server, string) {
	srv := NewServer(nil)
	onConn := func(s *Socket) {
		s.On("ack", func(s *Socket, args Args, ack AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
		s.On("echo", func(s *Socket, args Args, ack AckFunc) { s.Emit("echo", args...) })
	}
	srv.OnConnection(onConn)
	srv.Of("/b").OnConnection(onConn)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, hs.URL
}

func TestClientCloseEndsGoroutines(t *testing.T) {
	_, url := clTestServer(t)
	base := runtime.NumGoroutine()
	var cache ClientCache
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// polling then upgrade; its own HTTP client, whose idle keep-alive
	// connections (not the Manager's) are closed before counting goroutines
	hc := &http.Client{Transport: &http.Transport{}}
	opts := &ClientOptions{ManagerOptions: ManagerOptions{HTTPClient: hc}}
	a, err := cache.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cache.Connect(ctx, url+"/b", opts)
	if err != nil {
		t.Fatal(err)
	}
	if a.Manager() != b.Manager() {
		t.Fatal("not multiplexed")
	}
	got := make(chan DisconnectReason, 2)
	a.OnDisconnect(func(r DisconnectReason) { got <- r })
	b.OnDisconnect(func(r DisconnectReason) { got <- r })
	res, err := b.EmitWithAck(ctx, "ack", "x")
	if err != nil {
		t.Fatal(err)
	}
	var x string
	if err := res.Decode(0, &x); err != nil || x != "x" {
		t.Fatalf("ack %q %v", x, err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := a.EmitWithAck(ctx, "never-answered")
		pending <- err
	}()
	time.Sleep(10 * time.Millisecond) // let it be sent (either way it must end)
	cache.Close()
	for i := 0; i < 2; i++ {
		if r := <-got; r != ReasonIOClientDisconnect {
			t.Fatalf("reason %q", r)
		}
	}
	if err := <-pending; !errors.Is(err, ErrClientDisconnected) && !errors.Is(err, ErrClientClosed) {
		t.Fatalf("pending ack ended with %v", err)
	}
	if _, err := cache.Socket(url, nil); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("cache after Close: %v", err)
	}
	hc.CloseIdleConnections()
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
}

func TestClientDisconnectLastSocketReleasesConnection(t *testing.T) {
	srv, url := clTestServer(t)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Connect(ctx, url, &ClientOptions{ManagerOptions: ManagerOptions{Transports: []string{"websocket"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.Engine().Len(); n != 1 {
		t.Fatalf("%d engine connections", n)
	}
	s.Disconnect()
	// without Close: the Manager holds no goroutine once its last socket left
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
	// and it can connect again
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EmitWithAck(ctx, "ack"); err != nil {
		t.Fatal(err)
	}
	s.Manager().Close()
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
}

func TestClientHandlersRunInOrder(t *testing.T) {
	_, url := clTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := NewClientSocket(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	var mu sync.Mutex
	var seen []int
	const n = 200
	done := make(chan struct{})
	s.On("echo", func(args Args, ack AckFunc) {
		var i int
		args.Decode(0, &i)
		mu.Lock()
		seen = append(seen, i)
		if len(seen) == n {
			close(done)
		}
		mu.Unlock()
	})
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := s.Emit("echo", i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("events missing")
	}
	mu.Lock()
	defer mu.Unlock()
	for i, v := range seen {
		if v != i {
			t.Fatalf("event %d is %d", i, v)
		}
	}
}

// TestClientStuckHandlerDoesNotHoldTheReadLoop: a handler that blocks fills the
// dispatch queue; the read loop then stops reading, the heartbeat fails, the
// connection closes and the Manager reconnects, so the read loop is never stuck
// for longer than the heartbeat allows.
func TestClientStuckHandlerDoesNotHoldTheReadLoop(t *testing.T) {
	srv := NewServer(&ServerOptions{Engine: &engineio.ServerOptions{PingInterval: 200 * time.Millisecond, PingTimeout: 200 * time.Millisecond}})
	srv.OnConnection(func(s *Socket) {
		s.On("flood", func(s *Socket, args Args, ack AckFunc) {
			for i := 0; i < 300; i++ {
				if s.Emit("item", i) != nil {
					return
				}
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	opts := &ClientOptions{}
	opts.Transports = []string{"websocket"}
	opts.DispatchQueue = 4
	opts.ReconnectionDelay = 20 * time.Millisecond
	s, err := NewClientSocket(hs.URL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	release := make(chan struct{})
	var once sync.Once
	s.On("item", func(args Args, ack AckFunc) { <-release })
	reasons := make(chan DisconnectReason, 1)
	s.OnDisconnect(func(r DisconnectReason) {
		select {
		case reasons <- r:
		default:
		}
	})
	reconnected := make(chan struct{})
	s.Manager().OnReconnect(func(int) { once.Do(func() { close(reconnected) }) })
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("flood"); err != nil {
		t.Fatal(err)
	}
	// The handlers are stuck; the connection must still end and come back
	// (the handlers run again once released, the Disconnect and Reconnect ones
	// after the stuck ones).
	// The Manager may be connected again (a new Engine.IO session) between
	// two looks: the connection that ended is the one whose id changed.
	deadline := time.After(15 * time.Second)
	first := s.Manager().EngineID()
	for s.Manager().EngineID() == first && s.Connected() {
		select {
		case <-deadline:
			t.Fatal("the connection stayed up with a stuck read loop")
		case <-time.After(20 * time.Millisecond):
		}
	}
	close(release)
	select {
	case r := <-reasons:
		if r != ReasonPingTimeout && r != ReasonTransportClose && r != ReasonTransportError {
			t.Fatalf("reason %q", r)
		}
	case <-ctx.Done():
		t.Fatal("no disconnect event")
	}
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("no reconnection")
	}
}

// TestClientCloseFromHandler: a handler may close its own Manager.
func TestClientCloseFromHandler(t *testing.T) {
	_, url := clTestServer(t)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := &ClientOptions{}
	opts.Transports = []string{"websocket"}
	s, err := Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	s.On("echo", func(args Args, ack AckFunc) { closed <- s.Manager().Close() })
	reason := make(chan DisconnectReason, 1)
	s.OnDisconnect(func(r DisconnectReason) { reason <- r })
	if err := s.Emit("echo", 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close from a handler did not return")
	}
	if r := <-reason; r != ReasonIOClientDisconnect {
		t.Fatalf("reason %q", r)
	}
	if err := s.Emit("echo", 2); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("emit after Close: %v", err)
	}
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
}
