package socketio

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// TestRecoveryBeforeOldClosed: a client's recovery may reach the server before
// the server handled the end of its previous connection (over polling the
// close packet comes on its own request), or while the old socket's
// disconnect is still running. The recovery must still restore the latest
// state (id, every room, every missed packet), and the old socket, closing
// afterwards, must not remove the restored socket from its rooms.
func TestRecoveryBeforeOldClosed(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{ConnectionStateRecovery: &RecoveryOptions{}})
	sockets := make(chan *Socket, 8)
	reasons := make(chan DisconnectReason, 8)
	hold := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		if !s.Recovered() {
			s.Join("r")
			s.Emit("first")
		}
		s.OnDisconnecting(func(s *Socket, _ DisconnectReason) {
			if s.Data() == "hold" {
				<-hold
			}
		})
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
		sockets <- s
	})
	nsp := srv.Of("/")
	recoverAs := func(sid, pid, off string, missed ...string) (*client, *Socket) {
		t.Helper()
		c2 := dial(t, srv)
		sid2, pid2, before := csrConnect(t, c2, `{"pid":"`+pid+`","offset":"`+off+`"}`)
		if sid2 != sid || pid2 != pid {
			t.Fatalf("not recovered: %s/%s, want %s/%s", sid2, pid2, sid, pid)
		}
		var names []string
		for _, m := range before {
			names = append(names, m[strings.IndexByte(m, '"')+1:strings.IndexByte(m, ',')-1])
		}
		if !slices.Equal(names, missed) {
			t.Fatalf("replayed %q, want %q", before, missed)
		}
		s := <-sockets
		if !s.Recovered() {
			t.Fatal("Recovered false")
		}
		return c2, s
	}
	checkRooms := func(s *Socket, want ...string) {
		t.Helper()
		want = append(want, s.ID())
		slices.Sort(want)
		got := s.Rooms()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("rooms %q, want %q", got, want)
		}
	}
	// closeOld ends the old connection (after the recovery) and checks the
	// restored socket kept its rooms and still gets their broadcasts.
	closeOld := func(old, cur *client, s *Socket, rooms ...string) string {
		t.Helper()
		old.sess.closeWith(engineio.ReasonTransportClose)
		select {
		case <-old.done:
		case <-time.After(5 * time.Second):
			t.Fatal("the old connection did not end")
		}
		checkRooms(s, rooms...)
		var off string
		for _, r := range rooms {
			nsp.To(r).Emit("live-" + r)
			off = eventOffset(t, cur.expectPrefix(`2["live-`+r+`",`))
		}
		return off
	}

	// 1. The first connection is still open (no session saved yet).
	c1 := dial(t, srv)
	sid, pid, _ := csrConnect(t, c1, "")
	s1 := <-sockets
	off := eventOffset(t, string(c1.next().Data))
	nsp.To("r").Emit("m1") // reaches the old connection only
	c1.expectPrefix(`2["m1",`)
	c2, s2 := recoverAs(sid, pid, off, "m1")
	if r := <-reasons; r != ReasonTransportClose {
		t.Fatalf("old socket: %q", r)
	}
	if s1.Connected() {
		t.Fatal("the old socket is still connected")
	}
	checkRooms(s2, "r")
	off = closeOld(c1, c2, s2, "r")

	// 2. An older session is saved (from step 1); the open connection's socket
	// joined another room since.
	s2.Join("r2")
	nsp.To("r2").Emit("m2")
	c2.expectPrefix(`2["m2",`)
	c3, s3 := recoverAs(sid, pid, off, "m2")
	<-reasons
	checkRooms(s3, "r", "r2")
	off = closeOld(c2, c3, s3, "r", "r2")

	// 3. The old connection is closed but its disconnect has not finished.
	s3.Join("r3")
	s3.SetData("hold")
	c3.sess.closeWith(engineio.ReasonTransportClose)
	nsp.To("r3").Emit("m3")
	c4, s4 := recoverAs(sid, pid, off, "m3")
	close(hold)
	<-reasons
	s4.SetData(nil)
	checkRooms(s4, "r", "r2", "r3")
	closeOld(c3, c4, s4, "r", "r2", "r3")
}
