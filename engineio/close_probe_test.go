package engineio

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A session closed by the server while a websocket probe is open closes the
// probe with a close frame, as the reference does: a client that already sent
// the upgrade packet is on that websocket and must see "transport close", not
// a reset ("transport error").
func TestServerCloseDuringProbeClosesProbeGracefully(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	sid := d.handshake()
	s := sessions.next(t)
	c := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(t, c, "2probe")
	if _, m := stRead(t, c); m != "3probe" {
		t.Fatal(m)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := stWaitClosed(t, c)
	if st := websocket.CloseStatus(err); st != websocket.StatusNormalClosure {
		t.Fatalf("probe ended with %v (close status %d), want a normal close frame", err, st)
	}
}

// Every poll during an upgrade is released with a noop, as the reference does:
// the one noop the probe's answer schedules may be absorbed by a poll that
// carries data, and the client's next poll must not wait for the ping.
func TestServerPollsReleasedWhileUpgrading(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions()) // ping in a minute
	sid := d.handshake()
	s := sessions.next(t)
	c := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(t, c, "2probe")
	if _, m := stRead(t, c); m != "3probe" {
		t.Fatal(m)
	}
	if err := s.Send(Message{Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if res := d.get(d.poll(sid)); res.body != "4a" {
		t.Fatalf("first poll %q", res.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+"?"+d.poll(sid), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("second poll during the upgrade was not released: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "6" {
		t.Fatalf("second poll %q, want a noop", b)
	}
	stWrite(t, c, "5")
	clientWaitTransport := func() {
		deadline := time.Now().Add(5 * time.Second)
		for s.Transport() != "websocket" {
			if time.Now().After(deadline) {
				t.Fatalf("transport %q after the upgrade packet", s.Transport())
			}
			time.Sleep(time.Millisecond)
		}
	}
	clientWaitTransport()
}
