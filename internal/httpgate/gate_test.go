//go:build linux

package httpgate

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// serve serves h on a gated loopback listener until the test ends; news
// counts the connections the http.Server took (StateNew).
func serve(t *testing.T, h http.Handler, opts Options) (addr string, news *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	news = new(atomic.Int64)
	hs := &http.Server{Handler: h, MaxHeaderBytes: 4 << 10, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			news.Add(1)
		}
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(New(ln, opts))
	}()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
	})
	return ln.Addr().String(), news
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func echoBody(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s %s", r.Method, r.Header.Get("X-A"), b)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readBody(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode, string(b)
}

// A connection reaches the http.Server only once its headers are complete;
// then its request, body included, is served as sent, and so is the next one
// on the same connection.
func TestGateHandsOverCompleteHeaders(t *testing.T) {
	addr, news := serve(t, http.HandlerFunc(echoBody), Options{Timeout: 10 * time.Second})
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: x\r\n")
	time.Sleep(100 * time.Millisecond)
	io.WriteString(c, "X-A: one\r\nContent-Length: 5\r\n")
	time.Sleep(100 * time.Millisecond)
	if n := news.Load(); n != 0 {
		t.Fatalf("the http.Server has %d connections before the headers are complete", n)
	}
	io.WriteString(c, "\r\nhello")
	if code, body := readBody(t, br); code != 200 || body != "POST one hello" {
		t.Fatalf("first request: %d %q", code, body)
	}
	// Keep-alive, and a body sent with its headers in one write.
	io.WriteString(c, "POST /y HTTP/1.1\r\nHost: x\r\nX-A: two\r\nContent-Length: 3\r\n\r\nabc")
	if code, body := readBody(t, br); code != 200 || body != "POST two abc" {
		t.Fatalf("second request: %d %q", code, body)
	}
	if n := news.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	// Headers ending with bare line feeds, as net/http accepts them.
	c2 := dial(t, addr)
	io.WriteString(c2, "GET /z HTTP/1.1\nHost: x\nX-A: lf\n\n")
	if code, body := readBody(t, bufio.NewReader(c2)); code != 200 || body != "GET lf " {
		t.Fatalf("bare LF request: %d %q", code, body)
	}
}

// Connections that trickle their headers hold no goroutine of the
// http.Server's (without the gate, each holds one and 8 KiB of buffers).
func TestGateHoldsNoGoroutinePerConnection(t *testing.T) {
	addr, news := serve(t, http.HandlerFunc(echoBody), Options{Timeout: 10 * time.Second})
	base := runtime.NumGoroutine()
	heap0 := liveHeap()
	const n = 300
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dial(t, addr)
		io.WriteString(conns[i], "GET / HTTP/1.1\r\nHost: x\r\n")
	}
	for i := range 3 {
		for _, c := range conns {
			fmt.Fprintf(c, "X-%d: y\r\n", i)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if g, k := runtime.NumGoroutine()-base, news.Load(); g > 10 || k != 0 {
		t.Fatalf("%d partial requests: +%d goroutines, %d connections in the http.Server", n, g, k)
	}
	// Both ends' connections are in this process: about 1 KiB each in all
	// (net/http's buffers alone would be 8 KiB).
	if per := (liveHeap() - heap0) / n; per > 3<<10 {
		t.Fatalf("%d partial requests: %d bytes of heap each", n, per)
	} else {
		t.Logf("%d partial requests (about 80 bytes sent each): %d bytes of heap each, both ends", n, per)
	}
	// All are served once complete.
	for _, c := range conns {
		io.WriteString(c, "\r\n")
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if code, _ := readBody(t, bufio.NewReader(c)); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
}

// A connection whose headers are not complete by the timeout is closed.
func TestGateTimeout(t *testing.T) {
	addr, news := serve(t, http.HandlerFunc(echoBody), Options{Timeout: 300 * time.Millisecond})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\n")
	silent := dial(t, addr)
	start := time.Now()
	for _, c := range []net.Conn{c, silent} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read %d %v, want EOF", n, err)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("closed after %v, timeout 300 ms", d)
	}
	if n := news.Load(); n != 0 {
		t.Fatalf("%d connections reached the http.Server", n)
	}
}

// A connection that sends MaxBytes without the end of its headers is handed
// over: the http.Server answers 431.
func TestGateMaxBytes(t *testing.T) {
	addr, _ := serve(t, http.HandlerFunc(echoBody), Options{Timeout: 10 * time.Second, MaxBytes: 4 << 10})
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	go func() {
		line := "X-Pad: " + strings.Repeat("a", 100) + "\r\n"
		for range 200 { // 21 KiB, never ending the headers
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if code, _ := readBody(t, bufio.NewReader(c)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", code)
	}
}

// TLS through the gate (tls.NewListener over it, as ServeTLS and
// httptest's StartTLS put it) is served: a TLS connection is handed over at
// once.
func TestGateTLS(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(echoBody))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener.Close()
	s.Listener = New(ln, Options{Timeout: 10 * time.Second})
	s.StartTLS()
	defer s.Close()
	cl := s.Client()
	cl.Transport.(*http.Transport).TLSClientConfig.MinVersion = tls.VersionTLS12
	for range 2 {
		res, err := cl.Post(s.URL, "text/plain", strings.NewReader("tls"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "POST  tls" {
			t.Fatalf("body %q", b)
		}
	}
	cl.CloseIdleConnections()
}

// Closing the listener closes the connections it holds.
func TestGateCloseClosesHeld(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := New(ln, Options{})
	c := dial(t, ln.Addr().String())
	io.WriteString(c, "GET / HTTP/1.1\r\n")
	time.Sleep(100 * time.Millisecond)
	g.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read: %v, want EOF", err)
	}
	if _, err := g.Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
}

func TestHeadersEnd(t *testing.T) {
	for _, tc := range []struct {
		b    string
		from int
		want bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 26, true}, // the end split at the last bytes
		{"GET / HTTP/1.1\r\nHost: x\r\n", 0, false},
		{"GET / HTTP/1.1\nHost: x\n\n", 0, true},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r", 0, false},
	} {
		if got := headersEnd([]byte(tc.b), tc.from); got != tc.want {
			t.Errorf("headersEnd(%q, %d) = %v", tc.b, tc.from, got)
		}
	}
}
