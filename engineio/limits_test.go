package engineio

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestMaxSessions: handshakes over MaxSessions are refused with the reference's
// AllowRequest-style answer, on both transports, and a slot freed by a closed
// session can be used again.
func TestMaxSessions(t *testing.T) {
	d := stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute, MaxSessions: 2})
	a := d.handshake()
	d.handshake()
	r := d.get("EIO=4&transport=polling")
	if r.status != http.StatusForbidden || r.body != `{"code":4,"message":"Too many sessions"}` {
		t.Fatalf("third polling handshake: %d %q", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"), nil)
	if err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("third websocket handshake: %v %v", res, err)
	}
	if n := d.srv.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
	if r := d.post(d.poll(a), "1"); r.status != http.StatusOK {
		t.Fatalf("close: %d", r.status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for d.srv.Len() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	d.handshake() // the freed slot
}

// TestHandshakeRate: a burst over HandshakeBurst is refused; the sessions
// already open keep working.
func TestHandshakeRate(t *testing.T) {
	d := stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute,
		HandshakeRate: 0.001, HandshakeBurst: 3})
	var sids []string
	for range 3 {
		sids = append(sids, d.handshake())
	}
	r := d.get("EIO=4&transport=polling")
	if r.status != http.StatusForbidden || r.body != `{"code":4,"message":"Too many handshakes"}` {
		t.Fatalf("fourth handshake: %d %q", r.status, r.body)
	}
	if r := d.post(d.poll(sids[0]), "4hi"); r.status != http.StatusOK {
		t.Fatalf("post: %d", r.status)
	}
	if r := d.get(d.poll(sids[0])); r.body != "4hi" {
		t.Fatalf("echo: %q", r.body)
	}
}

// getFrom sends a GET to d from the loopback address ip (127.0.0.x).
func getFrom(t *testing.T, d *stDriver, ip, query string) (int, string) {
	t.Helper()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Get(d.base + "?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func ipEntries(srv *Server) (entries, idle int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.ips.m), len(srv.ips.idle)
}

// TestMaxSessionsPerIP: one IP's handshakes over MaxSessionsPerIP are refused
// as MaxSessions refuses them, another IP's are not; a session that ends
// frees its place, and an IP whose sessions have all ended leaves the table.
func TestMaxSessionsPerIP(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute, MaxSessionsPerIP: 2})
	var open []*Session
	for range 2 {
		if code, body := getFrom(t, d, "127.0.0.1", "EIO=4&transport=polling"); code != http.StatusOK {
			t.Fatalf("handshake: %d %q", code, body)
		}
		open = append(open, sessions.next(t))
	}
	if code, body := getFrom(t, d, "127.0.0.1", "EIO=4&transport=polling"); code != http.StatusForbidden ||
		body != `{"code":4,"message":"Too many sessions"}` {
		t.Fatalf("third handshake: %d %q", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, res, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"), nil); err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("third websocket handshake: %v %v", res, err)
	}
	if code, body := getFrom(t, d, "127.0.0.2", "EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("another IP: %d %q", code, body)
	}
	other := sessions.next(t)
	if n, _ := ipEntries(d.srv); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	open[0].closeWith(ReasonTransportError) // (Close would wait for a last poll)
	waitFor(t, "the session to end", func() bool { return d.srv.Len() == 2 })
	if code, body := getFrom(t, d, "127.0.0.1", "EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("the freed place: %d %q", code, body)
	}
	open = append(open[1:], sessions.next(t))
	for _, s := range append(open, other) {
		s.closeWith(ReasonTransportError)
	}
	waitFor(t, "the sessions to end", func() bool { return d.srv.Len() == 0 })
	if n, _ := ipEntries(d.srv); n != 0 {
		t.Fatalf("%d entries left once every session ended", n)
	}
}

// TestHandshakeRatePerIP: one IP's burst over HandshakeBurstPerIP is refused
// as HandshakeRate refuses it, another IP's is not; an IP's bucket is
// forgotten once the IP has no session and the bucket has refilled.
func TestHandshakeRatePerIP(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute,
		HandshakeRatePerIP: 10, HandshakeBurstPerIP: 2})
	var open []*Session
	for range 2 {
		if code, body := getFrom(t, d, "127.0.0.1", "EIO=4&transport=polling"); code != http.StatusOK {
			t.Fatalf("handshake: %d %q", code, body)
		}
		open = append(open, sessions.next(t))
	}
	// The bucket refills at 10/s: the third handshake comes well within 100 ms
	// on a quiet machine; a slow one may have earned a token meanwhile.
	start := time.Now()
	code, body := getFrom(t, d, "127.0.0.1", "EIO=4&transport=polling")
	if time.Since(start) < 50*time.Millisecond && (code != http.StatusForbidden || body != `{"code":4,"message":"Too many handshakes"}`) {
		t.Fatalf("third handshake: %d %q", code, body)
	}
	if code == http.StatusOK {
		open = append(open, sessions.next(t))
	}
	if code, body := getFrom(t, d, "127.0.0.2", "EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("another IP: %d %q", code, body)
	}
	open = append(open, sessions.next(t))
	for _, s := range open {
		s.closeWith(ReasonTransportError)
	}
	waitFor(t, "the sessions to end", func() bool { return d.srv.Len() == 0 })
	// Once refilled (200 ms), the buckets are swept by the next handshake.
	time.Sleep(250 * time.Millisecond)
	if code, body := getFrom(t, d, "127.0.0.3", "EIO=4&transport=polling"); code != http.StatusOK {
		t.Fatalf("a third IP: %d %q", code, body)
	}
	s3 := sessions.next(t)
	if n, _ := ipEntries(d.srv); n != 1 {
		t.Fatalf("%d entries, want only the IP with a session", n)
	}
	s3.closeWith(ReasonTransportError)
	waitFor(t, "the session to end", func() bool { return d.srv.Len() == 0 })
	time.Sleep(250 * time.Millisecond)
	d.srv.mu.Lock()
	d.srv.ips.sweep(d.srv.opts, time.Now())
	d.srv.mu.Unlock()
	if n, idle := ipEntries(d.srv); n != 0 || idle != 0 {
		t.Fatalf("%d entries, %d idle records left", n, idle)
	}
}
