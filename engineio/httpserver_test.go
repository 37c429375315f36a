package engineio

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// shortHTTP are NewHTTPServer's limits shrunk for the tests.
var shortHTTP = &HTTPServerOptions{
	ReadHeaderTimeout: 300 * time.Millisecond,
	RequestTimeout:    300 * time.Millisecond,
	IdleTimeout:       300 * time.Millisecond,
	MaxHeaderBytes:    4 << 10,
}

// startHTTPServer serves an engine.io server through NewHTTPServer(opts) on a
// loopback port until the test ends.
func startHTTPServer(t *testing.T, handler func(*Session), eopts *ServerOptions, opts *HTTPServerOptions) *stDriver {
	t.Helper()
	srv := NewServer(handler, eopts)
	hs := NewHTTPServer("", srv, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
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

// TestHTTPServerTimeoutsSpareSessions: with every timeout at 300 ms, a
// WebSocket still carries messages after a second, and a long poll held for
// 900 ms (until the ping) is answered, not cut.
func TestHTTPServerTimeoutsSpareSessions(t *testing.T) {
	eopts := &ServerOptions{PingInterval: 900 * time.Millisecond, PingTimeout: 5 * time.Second}
	d := startHTTPServer(t, stEcho, eopts, shortHTTP)

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
func TestHTTPServerTimeoutsCutPeers(t *testing.T) {
	d := startHTTPServer(t, stEcho, stOptions(), shortHTTP)
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
