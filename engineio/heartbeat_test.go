package engineio

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"
)

// hbSession starts a polling session on srv without a network, for fake-time tests.
func hbSession(t *testing.T, srv *Server) *Session {
	t.Helper()
	r := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=polling", nil)
	s, _ := srv.newSession(r, nil)
	s.start()
	return s
}

// pings takes the packets queued for s and counts its pings.
func pings(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.out {
		if p.Type == PacketPing {
			n++
		}
	}
	s.out, s.outBytes = nil, 0
	return n
}

func TestHeartbeatTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(func(s *Session) { <-s.Context().Done() },
			&ServerOptions{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
		defer srv.Shutdown(context.Background())
		s := hbSession(t, srv)
		start := time.Now()

		time.Sleep(299 * time.Millisecond)
		synctest.Wait()
		if n := pings(s); n != 0 {
			t.Fatalf("%d pings before pingInterval", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := pings(s); n != 1 {
			t.Fatalf("%d pings at pingInterval", n)
		}
		// A pong 150 ms later: the next ping comes pingInterval after it.
		time.Sleep(150 * time.Millisecond)
		s.handlePacket(Packet{Type: PacketPong})
		time.Sleep(299 * time.Millisecond)
		synctest.Wait()
		if n := pings(s); n != 0 {
			t.Fatalf("%d pings before pong+pingInterval", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := pings(s); n != 1 {
			t.Fatalf("%d pings at pong+pingInterval", n)
		}
		// No pong: closed exactly pingTimeout after the ping.
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		if s.Context().Err() != nil {
			t.Fatal("closed before pingTimeout")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if cause := context.Cause(s.Context()); cause != ReasonPingTimeout {
			t.Fatalf("cause %v", cause)
		}
		if got, want := time.Since(start), 950*time.Millisecond; got != want {
			t.Errorf("closed after %v, want %v", got, want)
		}
		if srv.Len() != 0 {
			t.Errorf("the timed-out session is still registered")
		}
	})
}

// TestHeartbeatRefresh: other traffic while a pong is due extends the deadline
// once, as the reference does.
func TestHeartbeatRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(func(s *Session) { <-s.Context().Done() },
			&ServerOptions{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
		defer srv.Shutdown(context.Background())
		s := hbSession(t, srv)
		start := time.Now()
		time.Sleep(400 * time.Millisecond)                             // ping sent at 300, pong due at 500
		s.handlePacket(Packet{Type: PacketMessage, Data: []byte("x")}) // due at 600
		time.Sleep(100 * time.Millisecond)
		s.handlePacket(Packet{Type: PacketMessage, Data: []byte("y")}) // no second extension
		<-s.Context().Done()
		if got, want := time.Since(start), 600*time.Millisecond; got != want {
			t.Errorf("closed after %v, want %v", got, want)
		}
		if cause := context.Cause(s.Context()); cause != ReasonPingTimeout {
			t.Errorf("cause %v", cause)
		}
	})
}

// TestLingeringClose: a polling session closed with no poll held waits for the
// client's next poll, then is dropped after pingInterval+pingTimeout.
func TestLingeringClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(func(s *Session) { <-s.Context().Done() },
			&ServerOptions{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond})
		defer srv.Shutdown(context.Background())
		s := hbSession(t, srv)
		s.Close()
		if srv.lookup(s.ID()) != s {
			t.Fatal("closed session dropped before its last poll")
		}
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if srv.lookup(s.ID()) != nil {
			t.Error("closed session kept after the linger time")
		}
	})
}

// TestPongOverdueAtRequest: a request that comes after the pong's deadline finds
// the session gone (400, "Session ID unknown", closed with "ping timeout")
// even when the timer that would have closed it has not run yet.
func TestPongOverdueAtRequest(t *testing.T) {
	sessions, h := newSTSessions(stEcho)
	d := stStart(t, h, &ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour})
	sid := d.handshake()
	s := sessions.next(t)
	s.mu.Lock()
	s.timer.Stop() // as if it ran late
	s.hb = hbAwaitPong
	s.deadline = time.Since(clockBase) - time.Millisecond
	s.mu.Unlock()
	// A POST: on a session still open it is answered at once.
	r := d.post(d.poll(sid), "4late")
	if r.status != 400 || r.body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("POST after the pong deadline: %d %q", r.status, r.body)
	}
	if err := stWaitClosedSession(t, s); !errors.Is(err, ReasonPingTimeout) {
		t.Fatalf("session closed with %v", err)
	}
}
