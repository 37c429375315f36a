package conformance

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/proxy"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// relNode is one Socket.IO server of a two-node cluster on Redis.
type relNode struct {
	srv  *socketio.Server
	hs   *httptest.Server
	rc   *redis.Client
	addr string
}

func startRelNode(t *testing.T, redisURL string) *relNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := redis.Dial(ctx, redisURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter,
		Engine: &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute}})
	hs := httptest.NewServer(srv)
	n := &relNode{srv: srv, hs: hs, rc: rc, addr: hs.Listener.Addr().String()}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.CloseClientConnections()
		hs.Close()
		rc.Close()
	})
	return n
}

// TestReliabilityNoStickySessions: two nodes behind a round-robin proxy (a
// load balancer without sticky sessions). A polling request reaching the node
// that does not hold its session gets the reference's 400 "Session ID
// unknown"; WebSocket-only clients work, spread over both nodes, and a
// broadcast reaches all of them through Redis.
func TestReliabilityNoStickySessions(t *testing.T) {
	r := testutil.StartRedis(t)
	a, b := startRelNode(t, r.URL()), startRelNode(t, r.URL())
	p, err := proxy.New(a.addr, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	base := "http://" + p.Addr() + "/socket.io/"

	// Polling: every request on a new connection, so consecutive requests
	// reach the two nodes in turn.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := hc.Get(base + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	sid := diffHandshakeBody(t, open)
	res, err = hc.Get(base + "?EIO=4&transport=polling&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || string(body) != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("poll on the other node: %d %q", res.StatusCode, body)
	}

	// WebSocket only: each connection stays on its node.
	const n = 20
	clients, got := relClients(t, "http://"+p.Addr(), n, "tick")
	// (A socket becomes a broadcast target just after its CONNECT reply.)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		la, lb := len(a.srv.Of("/").Sockets()), len(b.srv.Of("/").Sockets())
		if la == n/2 && lb == n/2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sockets per node: %d and %d, want %d each", la, lb, n/2)
		}
	}
	if err := a.srv.Emit("tick", 1); err != nil {
		t.Fatal(err)
	}
	relWaitAll(t, got, n, "the broadcast from one node")
	_ = clients
}

// relClients connects n WebSocket-only Go clients to url and counts, per
// client, the events named ev they receive.
func relClients(t *testing.T, url string, n int, ev string) ([]*socketio.ClientSocket, []*atomic.Int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	clients := make([]*socketio.ClientSocket, n)
	got := make([]*atomic.Int64, n)
	for i := range n {
		s, err := socketio.NewClientSocket(url, &socketio.ClientOptions{ManagerOptions: socketio.ManagerOptions{
			Transports: []string{"websocket"}, ReconnectionDelay: 50 * time.Millisecond,
			ReconnectionDelayMax: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		c := new(atomic.Int64)
		s.On(ev, func(socketio.Args, socketio.AckFunc) { c.Add(1) })
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Manager().Close() })
		clients[i], got[i] = s, c
	}
	return clients, got
}

func relWaitAll(t *testing.T, got []*atomic.Int64, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		have := 0
		for _, c := range got {
			if c.Load() > 0 {
				have++
			}
		}
		if have == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s reached %d of %d clients", what, have, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func diffHandshakeBody(t *testing.T, open []byte) string {
	t.Helper()
	s := string(open)
	i := strings.Index(s, `"sid":"`)
	if i < 0 {
		t.Fatalf("handshake %q", s)
	}
	return s[i+7 : i+7+strings.IndexByte(s[i+7:], '"')]
}

// TestReliabilityGracefulShutdown: Shutdown(ctx) of one node of a two-node
// cluster under load. The load balancer (our round-robin proxy) stops sending
// new connections to it first, as an orchestrator does; Shutdown returns
// within its deadline; every client of that node sees "transport close" (the
// reason the reference's clients see when the server closes) and reconnects,
// through the proxy, to the surviving node, where a broadcast reaches every
// client. CI: 100 clients; CORVID_LONG=1: 1,000.
func TestReliabilityGracefulShutdown(t *testing.T) {
	n := 100
	if relLong() {
		n = 1000
	}
	r := testutil.StartRedis(t)
	a, b := startRelNode(t, r.URL()), startRelNode(t, r.URL())
	p, err := proxy.New(a.addr, b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	clients, _ := relClients(t, "http://"+p.Addr(), n, "none")
	var mu sync.Mutex
	reasons := make(map[string]int)
	var shutdownStarted atomic.Bool
	dropped := make([]atomic.Bool, n)
	back := make([]atomic.Bool, n)
	reconnectedCount := func() (k int) {
		for i := range back {
			if back[i].Load() {
				k++
			}
		}
		return k
	}
	for i, s := range clients {
		s.OnDisconnect(func(r socketio.DisconnectReason) {
			dropped[i].Store(true)
			mu.Lock()
			reasons[string(r)]++
			mu.Unlock()
		})
		// Counted once the shutdown started and after a disconnection:
		// reconnections only.
		s.OnConnect(func() {
			if shutdownStarted.Load() && dropped[i].Load() {
				back[i].Store(true)
			}
		})
	}
	var onA int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		onA = len(a.srv.Of("/").Sockets())
		if onA+len(b.srv.Of("/").Sockets()) == n || time.Now().After(deadline) {
			break
		}
	}

	// Load: both nodes broadcast while the shutdown runs.
	stop := make(chan struct{})
	var load sync.WaitGroup
	for _, node := range []*relNode{a, b} {
		load.Add(1)
		go func() {
			defer load.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					_ = node.srv.Emit("load", "x")
				}
			}
		}()
	}
	p.SetBackends(b.addr)
	shutdownStarted.Store(true)
	const deadline = 10 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	start := time.Now()
	err = a.srv.Shutdown(ctx)
	took := time.Since(start)
	cancel()
	close(stop)
	load.Wait()
	if err != nil {
		t.Fatalf("Shutdown after %v: %v", took, err)
	}
	wait := time.Now().Add(30 * time.Second)
	for reconnectedCount() < onA && time.Now().Before(wait) {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	t.Logf("%d clients (%d on the node shut down): Shutdown took %v (deadline %v); disconnect reasons %v; %d reconnected to the other node",
		n, onA, took, deadline, reasons, reconnectedCount())
	if reasons["transport close"] != onA || len(reasons) != 1 {
		t.Errorf("reasons %v, want %d x transport close", reasons, onA)
	}
	mu.Unlock()
	if k := reconnectedCount(); k != onA {
		t.Fatalf("%d of %d clients reconnected", k, onA)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		lb := len(b.srv.Of("/").Sockets())
		if lb == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the surviving node holds %d sockets, want %d", lb, n)
		}
	}
}
