package engineio

import (
	"context"
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
