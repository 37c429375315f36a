package socketio

import (
	"net"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// footprintConns is the number of idle connections TestIdleSocketFootprint
// holds: enough for the per-connection figure to dwarf the fixed costs.
const footprintConns = 500

// TestIdleSocketFootprint opens idle WebSocket connections to a server with the
// harness's handlers (three events per socket), each joined to the main
// namespace, and logs the heap and stack bytes and the goroutines per
// connection (`go test -run TestIdleSocketFootprint -v ./socketio/`). The
// clients are raw TCP connections of this process that speak the handshake by
// hand (no goroutine, no buffers), so the heap counted is the server's. It
// asserts what does not depend on timing: every socket connected, and on linux
// (where engineio parks idle WebSocket connections in its epoll set) no
// goroutine held per idle connection; elsewhere at most one.
func TestIdleSocketFootprint(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{Engine: &engineio.ServerOptions{
		PingInterval: time.Hour, PingTimeout: time.Hour,
	}})
	joined := make(chan struct{}, footprintConns+1)
	srv.OnConnection(func(s *Socket) {
		nop := func(*Socket, Args, AckFunc) {}
		s.On("echo", nop)
		s.On("bcast", nop)
		s.On("toroom", nop)
		joined <- struct{}{}
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	host := strings.TrimPrefix(hs.URL, "http://")

	// One warm-up connection, so that lazily allocated globals are not counted.
	warm := rawSocketIO(t, host)
	defer warm.Close()
	<-joined

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	conns := make([]net.Conn, footprintConns)
	for i := range conns {
		conns[i] = rawSocketIO(t, host)
	}
	for range conns {
		<-joined
	}
	// The writers of the CONNECT replies exit once their frames are written,
	// and the dispatchers end 100 to 200 ms after a connection's last call.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine()-g0 > maxIdleGoroutines(footprintConns) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	n := float64(footprintConns)
	t.Logf("idle socket.io connections: %d", footprintConns)
	t.Logf("goroutines per connection: %.2f", float64(g1-g0)/n)
	t.Logf("heap bytes per connection: %.0f", float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n)
	t.Logf("heap objects per connection: %.1f", float64(int64(after.HeapObjects)-int64(before.HeapObjects))/n)
	t.Logf("stack bytes per connection: %.0f", float64(int64(after.StackInuse)-int64(before.StackInuse))/n)
	if got := len(srv.Of("/").Sockets()); got != footprintConns+1 {
		t.Errorf("%d sockets connected, want %d", got, footprintConns+1)
	}
	// The handshakes share their URL string and query map, and read as their own.
	first := srv.Of("/").Sockets()[0].Handshake()
	for _, s := range srv.Of("/").Sockets() {
		h := s.Handshake()
		if h.URL != "/socket.io/?EIO=4&transport=websocket" || h.Query.Get("transport") != "websocket" ||
			h.Headers.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("handshake: URL %q, query %v, headers %v", h.URL, h.Query, h.Headers)
		}
		if unsafe.StringData(h.URL) != unsafe.StringData(first.URL) || reflect.ValueOf(h.Query).Pointer() != reflect.ValueOf(first.Query).Pointer() {
			t.Fatal("handshakes with the same URL do not share its string and query")
		}
	}
	if g1-g0 > maxIdleGoroutines(footprintConns) {
		t.Errorf("%d goroutines for %d idle connections, want at most %d", g1-g0, footprintConns, maxIdleGoroutines(footprintConns))
	}
	for _, c := range conns {
		c.Close()
	}
}

// maxIdleGoroutines is how many goroutines n idle connections may hold.
func maxIdleGoroutines(n int) int {
	if runtime.GOOS == "linux" {
		return n / 20
	}
	return n
}

// rawSocketIO opens a WebSocket-only Engine.IO session by hand, joins the main
// namespace and reads the open packet and the CONNECT reply.
func rawSocketIO(t testing.TB, host string) net.Conn {
	t.Helper()
	c, br := testutil.RawWebSocket(t, host, "/socket.io/")
	// "40", masked with the all-zero key.
	if _, err := c.Write([]byte{0x81, 0x82, 0, 0, 0, 0, '4', '0'}); err != nil {
		t.Fatal(err)
	}
	if p := testutil.ReadTextFrame(t, br); !strings.HasPrefix(p, "40{") {
		t.Fatalf("connect reply %q", p)
	}
	return c
}
