package engineio

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestPollingClientCloseAtOnce: a close packet POSTed while no GET is held
// ends the session as soon as it is read, as in the reference (the layer
// above must see the close before the client opens its next session: with
// connection state recovery it saves the session then). A GET sent with the
// close (before the POST's answer) still gets the noop, within
// clientCloseGrace; once the POST is answered, the session is gone (400), as
// with the reference.
func TestPollingClientCloseAtOnce(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	sid := d.handshake()
	s := sessions.next(t)
	q := d.poll(sid)
	posted := make(chan int, 1)
	go func() { posted <- d.post(q, "1").status }()
	select {
	case <-s.Context().Done():
	case <-time.After(clientCloseGrace / 2):
		t.Fatalf("the session was not closed within %v of the close packet", clientCloseGrace/2)
	}
	if cause := context.Cause(s.Context()); cause != ReasonTransportClose {
		t.Errorf("cause %v", cause)
	}
	if res := d.get(q); res.status != http.StatusOK || res.body != "6" {
		t.Errorf("GET sent with the close: %d %q", res.status, res.body)
	}
	if status := <-posted; status != http.StatusOK {
		t.Errorf("POST close: %d", status)
	}
	if res := d.get(q); res.status != http.StatusBadRequest {
		t.Errorf("GET after it: %d", res.status)
	}
	if n := d.srv.Len(); n != 0 {
		t.Errorf("%d sessions left", n)
	}

	// Without a GET, the POST is answered once the grace has passed, and the
	// session is gone by then.
	sid = d.handshake()
	s = sessions.next(t)
	if res := d.post(d.poll(sid), "1"); res.status != http.StatusOK {
		t.Errorf("POST close: %d", res.status)
	}
	if s.Context().Err() == nil {
		t.Error("the session is still open")
	}
	if n := d.srv.Len(); n != 0 {
		t.Errorf("%d sessions left after the POST's answer", n)
	}
	if res := d.get(d.poll(sid)); res.status != http.StatusBadRequest {
		t.Errorf("GET after the POST's answer: %d", res.status)
	}
}
