package socketio

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestHandlerPanicLogBounded: 30 connections that each make a handler panic
// log the burst of panics (10), not 30 stacks.
func TestHandlerPanicLogBounded(t *testing.T) {
	var buf lockedBuffer
	srv := newTestServer(t, &ServerOptions{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	reasons := make(chan DisconnectReason, 30)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
		s.On("boom", func(*Socket, Args, AckFunc) { panic("boom") })
	})
	for range 30 {
		c := dial(t, srv)
		c.connect("/")
		c.send(`2["boom"]`)
		c.expectClosed()
		if r := <-reasons; r != ReasonHandlerPanic {
			t.Fatalf("reason %q", r)
		}
	}
	if n := strings.Count(buf.String(), "panic in a handler"); n < 1 || n > 11 {
		t.Fatalf("%d panic lines for 30 panics, want the burst of 10 (11 if a second passed)", n)
	}
}
