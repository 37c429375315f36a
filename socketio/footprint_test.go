package socketio

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// TestIdleSocketFootprint prints the goroutines, heap and stack bytes per idle
// Socket.IO connection (a WebSocket session joined to "/"). It runs only with
// SIO_IDLE_SOCKETS set to the number of connections (e.g. 1000):
//
//	SIO_IDLE_SOCKETS=1000 go test -run TestIdleSocketFootprint -v ./socketio/
//
// The clients are raw TCP connections in this process that speak the
// handshake and the CONNECT by hand (no goroutine, no buffers), so nearly all
// the memory counted is the server's.
func TestIdleSocketFootprint(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SIO_IDLE_SOCKETS"))
	if n <= 0 {
		t.Skip("set SIO_IDLE_SOCKETS=<n> to measure")
	}
	srv := NewServer(&ServerOptions{Engine: &engineio.ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour}})
	connected := make(chan struct{}, n+1)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack AckFunc) {
			if ack != nil {
				ack("ok")
			}
		})
		connected <- struct{}{}
	})
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.CloseClientConnections()
		hs.Close()
	}()
	u, _ := url.Parse(hs.URL)
	warm := rawSocket(t, u.Host)
	defer warm.Close()
	<-connected

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawSocket(t, u.Host)
		<-connected
	}
	// Let the writers, dispatchers and the readers that linger after the
	// CONNECT exit (engineio parks a connection 100 ms after its last message).
	for i := 0; i < 100 && runtime.NumGoroutine() > g0+n/20; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	stacks := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
	fmt.Printf("idle socket.io connections: %d\ngoroutines per connection: %.2f\nheap bytes per connection: %.0f\nstack bytes per connection: %.0f\n",
		n, float64(g1-g0)/float64(n), heap, stacks)
	if g1-g0 > n+5 {
		t.Errorf("%d goroutines for %d idle connections", g1-g0, n)
	}
	for _, c := range conns {
		c.Close()
	}
}

// rawSocket opens a WebSocket-only Socket.IO connection by hand and joins "/".
func rawSocket(t testing.TB, host string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 512)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	if m := rawReadFrame(t, br); !strings.HasPrefix(m, "0{") {
		t.Fatalf("open packet %q", m)
	}
	// "40", masked with a zero key.
	if _, err := c.Write([]byte{0x81, 0x82, 0, 0, 0, 0, '4', '0'}); err != nil {
		t.Fatal(err)
	}
	if m := rawReadFrame(t, br); !strings.HasPrefix(m, "40{") {
		t.Fatalf("connect answer %q", m)
	}
	if br.Buffered() > 0 {
		t.Fatalf("unexpected bytes after the CONNECT answer")
	}
	return c
}

// rawReadFrame reads one unmasked server frame with a 7-bit length.
func rawReadFrame(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return string(payload)
}
