package socketio

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// csrConnect joins "/" with auth (a JSON object, "" for none) and returns the
// CONNECT reply's sid and pid, after reading the messages before it (replayed
// events) into before.
func csrConnect(t *testing.T, c *client, auth string) (sid, pid string, before []string) {
	t.Helper()
	c.send("0" + auth)
	for {
		m := string(c.next().Data)
		if !strings.HasPrefix(m, "0") {
			before = append(before, m)
			continue
		}
		var r struct{ SID, PID string }
		if err := json.Unmarshal([]byte(m[1:]), &r); err != nil {
			t.Fatalf("CONNECT reply %q: %v", m, err)
		}
		return r.SID, r.PID, before
	}
}

// eventOffset returns the last argument of a text EVENT, which must be a string.
func eventOffset(t *testing.T, m string) string {
	t.Helper()
	var args []any
	if err := json.Unmarshal([]byte(m[strings.IndexByte(m, '['):]), &args); err != nil {
		t.Fatalf("event %q: %v", m, err)
	}
	off, ok := args[len(args)-1].(string)
	if !ok {
		t.Fatalf("event %q has no offset", m)
	}
	return off
}

func TestRecoveryConnectReply(t *testing.T) {
	plain := newTestServer(t, nil)
	c := dial(t, plain)
	c.send("0")
	m := string(c.next().Data)
	if !regexp.MustCompile(`^0\{"sid":"[A-Za-z0-9_-]{20}"\}$`).MatchString(m) {
		t.Fatalf("without recovery the reply must be exactly {\"sid\":...}: %q", m)
	}
	srv := newTestServer(t, &ServerOptions{ConnectionStateRecovery: &RecoveryOptions{}})
	c = dial(t, srv)
	c.send("0")
	m = string(c.next().Data)
	if !regexp.MustCompile(`^0\{"sid":"[A-Za-z0-9_-]{20}","pid":"[A-Za-z0-9_-]{20}"\}$`).MatchString(m) {
		t.Fatalf("with recovery: %q", m)
	}
}

func TestRecoveryOffsets(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{ConnectionStateRecovery: &RecoveryOptions{}})
	done := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.Emit("direct", 1)
		srv.Of("/").Emit("all", 2)
		s.EmitVolatile("volatile", 3)
		s.EmitWithCallback("with-ack", time.Second, func(Args, error) {}, 4)
		close(done)
	})
	c := dial(t, srv)
	csrConnect(t, c, "")
	<-done
	a := eventOffset(t, string(c.next().Data))
	b := eventOffset(t, string(c.next().Data))
	if a == b {
		t.Fatalf("two packets share offset %q", a)
	}
	c.expect(`2["volatile",3]`)
	c.expect(`20["with-ack",4]`) // with an ack id: no offset
}

func TestRecoveryReplay(t *testing.T) {
	var mwCalls atomic.Int32
	for _, run := range []bool{false, true} {
		srv := newTestServer(t, &ServerOptions{ConnectionStateRecovery: &RecoveryOptions{RunMiddlewares: run}})
		mwCalls.Store(0)
		srv.Use(func(s *Socket) error {
			mwCalls.Add(1)
			return nil
		})
		gone := make(chan *Socket, 1)
		recovered := make(chan *Socket, 1)
		srv.OnConnection(func(s *Socket) {
			if s.Recovered() {
				recovered <- s
				return
			}
			s.Join("r")
			s.SetData("payload")
			s.Emit("first")
			s.OnDisconnect(func(s *Socket, reason DisconnectReason) { gone <- s })
		})
		c := dial(t, srv)
		sid, pid, _ := csrConnect(t, c, "")
		off := eventOffset(t, string(c.next().Data))
		c.sess.closeWith(engineio.ReasonTransportClose)
		old := <-gone
		// While away: to the old socket, to its room, to everybody, to others.
		old.Emit("m1")
		srv.Of("/").To("r").Emit("m2")
		srv.Of("/").Except("r").Emit("not-for-it")
		srv.Of("/").Emit("m3")

		c2 := dial(t, srv)
		sid2, pid2, before := csrConnect(t, c2, `{"pid":"`+pid+`","offset":"`+off+`","token":"x"}`)
		if sid2 != sid || pid2 != pid {
			t.Fatalf("recovered as %s/%s, want %s/%s", sid2, pid2, sid, pid)
		}
		var names []string
		for _, m := range before {
			names = append(names, m[strings.IndexByte(m, '"')+1:strings.IndexByte(m, ',')-1])
		}
		if strings.Join(names, " ") != "m1 m2 m3" {
			t.Fatalf("replayed before the CONNECT reply: %q", before)
		}
		s := <-recovered
		if s.Data() != "payload" || !s.Recovered() {
			t.Fatalf("data %v recovered %v", s.Data(), s.Recovered())
		}
		if got := strings.Join(sortedRooms(s), ","); got != "r,"+sid && got != sid+",r" {
			t.Fatalf("rooms %q", got)
		}
		if v, ok := s.Handshake().Auth.(interface{ Decode(any) error }); !ok {
			t.Fatal("no auth")
		} else {
			var a map[string]any
			v.Decode(&a)
			if a["token"] != "x" {
				t.Fatalf("auth %v", a)
			}
		}
		want := int32(1)
		if run {
			want = 2
		}
		if got := mwCalls.Load(); got != want {
			t.Fatalf("RunMiddlewares=%v: middleware ran %d times, want %d", run, got, want)
		}
		// Live again: new packets arrive once, after the reply.
		srv.Of("/").Emit("live")
		c2.expectPrefix(`2["live",`)
	}
}

func sortedRooms(s *Socket) []string {
	r := s.Rooms()
	if len(r) == 2 && r[0] > r[1] {
		r[0], r[1] = r[1], r[0]
	}
	return r
}

func TestRecoveryRefused(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{ConnectionStateRecovery: &RecoveryOptions{}})
	left := make(chan struct{}, 4)
	srv.OnConnection(func(s *Socket) {
		s.Emit("hello")
		s.OnDisconnect(func(*Socket, DisconnectReason) { left <- struct{}{} })
	})
	c := dial(t, srv)
	sid, pid, _ := csrConnect(t, c, "")
	off := eventOffset(t, string(c.next().Data))
	// A client namespace disconnect is not recoverable.
	c.send("1")
	<-left // the session would be stored before the OnDisconnect handlers run
	c2 := dial(t, srv)
	sid2, pid2, _ := csrConnect(t, c2, `{"pid":"`+pid+`","offset":"`+off+`"}`)
	if sid2 == sid || pid2 == pid {
		t.Fatal("recovered after a client namespace disconnect")
	}
	// An unknown pid or offset gets a fresh session.
	c3 := dial(t, srv)
	if sid3, _, _ := csrConnect(t, c3, `{"pid":"nope","offset":"`+off+`"}`); sid3 == sid {
		t.Fatal("recovered an unknown pid")
	}
}
