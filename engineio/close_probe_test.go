package engineio

import (
	"testing"

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
