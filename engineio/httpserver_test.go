package engineio

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// shortHTTP are NewHTTPServer's limits shrunk for the tests.
var shortHTTP = &HTTPServerOptions{
	ReadHeaderTimeout: 300 * time.Millisecond,
	RequestTimeout:    300 * time.Millisecond,
	IdleTimeout:       300 * time.Millisecond,
	MaxHeaderBytes:    4 << 10,
}

// startHTTPServer serves an engine.io server through NewHTTPServer(opts) on a
// loopback port until the test ends, on NewHTTPListener(opts) when gated.
func startHTTPServer(t *testing.T, handler func(*Session), eopts *ServerOptions, opts *HTTPServerOptions, gated bool) *stDriver {
	t.Helper()
	srv := NewServer(handler, eopts)
	hs := NewHTTPServer("", srv, opts)
	var ln net.Listener
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if gated {
		ln = NewHTTPListener(ln, opts)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Close()
		<-done
		http.DefaultClient.CloseIdleConnections()
	})
	return &stDriver{t: t, srv: srv, base: "http://" + ln.Addr().String() + srv.opts.Path}
}

func TestNewHTTPServerDefaults(t *testing.T) {
	hs := NewHTTPServer(":0", http.NotFoundHandler(), nil)
	if hs.ReadHeaderTimeout != 60*time.Second || hs.IdleTimeout != 5*time.Second ||
		hs.MaxHeaderBytes != 16<<10 || hs.ReadTimeout != 300*time.Second || hs.WriteTimeout != 0 {
		t.Fatalf("settings %v %v %v %v %v", hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes, hs.ReadTimeout, hs.WriteTimeout)
	}
	hs = NewHTTPServer(":0", http.NotFoundHandler(), &HTTPServerOptions{IdleTimeout: -1, ReadHeaderTimeout: time.Second})
	if hs.IdleTimeout != 0 || hs.ReadHeaderTimeout != time.Second {
		t.Fatalf("options not applied: %v %v", hs.IdleTimeout, hs.ReadHeaderTimeout)
	}
}

// bothListeners runs f on the plain listener and on NewHTTPListener's.
func bothListeners(t *testing.T, f func(t *testing.T, gated bool)) {
	t.Run("plain", func(t *testing.T) { f(t, false) })
	t.Run("gated", func(t *testing.T) { f(t, true) })
}

// TestHTTPServerTimeoutsSpareSessions: with every timeout at 300 ms, a
// WebSocket still carries messages after a second, and a long poll held for
// 900 ms (until the ping) is answered, not cut.
func TestHTTPServerTimeoutsSpareSessions(t *testing.T) { bothListeners(t, testTimeoutsSpareSessions) }

func testTimeoutsSpareSessions(t *testing.T, gated bool) {
	eopts := &ServerOptions{PingInterval: 900 * time.Millisecond, PingTimeout: 5 * time.Second}
	d := startHTTPServer(t, stEcho, eopts, shortHTTP, gated)

	ws := d.dialOpen()
	sid := d.handshake()
	start := time.Now()
	res := d.get(d.poll(sid)) // held until the first ping
	if held := time.Since(start); res.status != http.StatusOK || res.body != "2" || held < 600*time.Millisecond {
		t.Fatalf("long poll after %v: %d %q, want the ping after the timeouts", held, res.status, res.body)
	}
	if r := d.post(d.poll(sid), "3"); r.status != http.StatusOK {
		t.Fatalf("pong: %d %q", r.status, r.body)
	}
	time.Sleep(time.Second - time.Since(start))
	stWrite(t, ws, "4still here")
	if _, m := stRead(t, ws); m != "4still here" {
		t.Fatalf("WebSocket echo after the timeouts: %q", m)
	}
}

// TestHTTPServerTimeoutsCutPeers: a body sent too slowly, headers sent too
// slowly, an idle keep-alive connection and oversized headers are all ended.
func TestHTTPServerTimeoutsCutPeers(t *testing.T) { bothListeners(t, testTimeoutsCutPeers) }

func testTimeoutsCutPeers(t *testing.T, gated bool) {
	d := startHTTPServer(t, stEcho, stOptions(), shortHTTP, gated)
	addr := strings.TrimPrefix(strings.TrimSuffix(d.base, d.srv.opts.Path), "http://")
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin reads c until the server closes it; it fails after limit.
	closedWithin := func(what string, c net.Conn, limit time.Duration) string {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(limit))
		b, err := io.ReadAll(c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: still open after %v", what, limit)
		}
		return string(b)
	}
	sid := d.handshake()

	t.Run("slow body", func(t *testing.T) {
		c := dial()
		_, _ = io.WriteString(c, "POST "+d.srv.opts.Path+"?"+d.poll(sid)+" HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n4a")
		closedWithin("a body cut short", c, 3*time.Second)
	})
	t.Run("slow headers", func(t *testing.T) {
		c := dial()
		_, _ = io.WriteString(c, "GET "+d.srv.opts.Path+"?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
		closedWithin("headers cut short", c, 3*time.Second)
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial()
		_, _ = io.WriteString(c, "GET "+d.srv.opts.Path+"?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("handshake: %d", res.StatusCode)
		}
		closedWithin("an idle keep-alive connection", c, 3*time.Second)
	})
	t.Run("big headers", func(t *testing.T) {
		c := dial()
		_, _ = io.WriteString(c, "GET "+d.srv.opts.Path+"?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: "+
			strings.Repeat("a", 64<<10)+"\r\n\r\n")
		if out := closedWithin("big headers", c, 3*time.Second); !strings.HasPrefix(out, "HTTP/1.1 431") {
			t.Fatalf("answer to 64 KiB of headers: %.40q", out)
		}
	})
}

// TestHTTPServerHeldRequestsLive: a request held past the request timeout,
// a GET or a POST whose body was read, keeps its context (http.Server's
// ReadTimeout would cancel it, and with it a held long poll).
func TestHTTPServerHeldRequestsLive(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		case <-time.After(900 * time.Millisecond):
			_, _ = io.WriteString(w, "held")
		}
	})
	hs := NewHTTPServer("", h, shortHTTP)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	defer func() {
		_ = hs.Close()
		<-done
		http.DefaultClient.CloseIdleConnections()
	}()
	url := "http://" + ln.Addr().String() + "/"
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("4hello")
		}
		req, _ := http.NewRequest(method, url, body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "held" {
			t.Fatalf("%s held past the timeouts: %d %q", method, res.StatusCode, b)
		}
	}
}

// TestHTTPListenerServesSessions: behind NewHTTPListener, polling sessions,
// their upgrade to WebSocket and WebSocket sessions carry their messages,
// the upgrade included, as on the plain listener.
func TestHTTPListenerServesSessions(t *testing.T) {
	d := startHTTPServer(t, stEcho, stOptions(), nil, true)
	sid := d.handshake()
	if r := d.post(d.poll(sid), "4polled"); r.status != http.StatusOK {
		t.Fatalf("POST: %d %q", r.status, r.body)
	}
	if r := d.get(d.poll(sid)); r.status != http.StatusOK || r.body != "4polled" {
		t.Fatalf("GET: %d %q", r.status, r.body)
	}
	up := d.upgrade(sid)
	ws := d.dialOpen()
	for i := range 50 {
		for _, c := range []*websocket.Conn{up, ws} {
			m := "4m" + strconv.Itoa(i)
			stWrite(t, c, m)
			if _, got := stRead(t, c); got != m {
				t.Fatalf("echo %q, want %q", got, m)
			}
		}
	}
}

// BenchmarkHTTPListener measures a request on a new connection and one on a
// keep-alive connection, served by NewHTTPServer on the plain listener and
// on NewHTTPListener's gate.
func BenchmarkHTTPListener(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	for _, gated := range []bool{false, true} {
		name := "plain"
		if gated {
			name = "gated"
		}
		hs := NewHTTPServer("", h, nil)
		var ln net.Listener
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		addr := ln.Addr().String()
		if gated {
			ln = NewHTTPListener(ln, nil)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = hs.Serve(ln)
		}()
		req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
		roundTrip := func(c net.Conn, br *bufio.Reader) {
			if _, err := io.WriteString(c, req); err != nil {
				b.Fatal(err)
			}
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		b.Run(name+"/newconn", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				roundTrip(c, bufio.NewReader(c))
				c.Close()
			}
		})
		b.Run(name+"/keepalive", func(b *testing.B) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			b.ReportAllocs()
			for b.Loop() {
				roundTrip(c, br)
			}
		})
		_ = hs.Close()
		<-done
	}
}
