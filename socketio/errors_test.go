package socketio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// One ack-timeout error on both sides: errors.Is matches ErrAckTimeout (and
// its old client name) whether the wait ended at the ack timeout or at the
// context's deadline, on the server and on the client.
func TestAckTimeoutIsOneError(t *testing.T) {
	srv, url := clTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	c.On("silent", func(Args, AckFunc) {}) // never answers

	// client: the emitter's timeout, then ctx's deadline
	_, err = c.Timeout(50*time.Millisecond).EmitWithAck(ctx, "unanswered")
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, ErrClientAckTimeout) {
		t.Fatalf("client ack timeout: %v", err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.EmitWithAck(dctx, "unanswered")
	dcancel()
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client ctx deadline: %v", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err = c.EmitWithAck(cctx, "unanswered"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrAckTimeout) {
		t.Fatalf("client cancelled ctx: %v", err)
	}

	// server: ctx's deadline, then EmitWithCallback's timeout
	s := srv.Of("/").Socket(c.ID())
	dctx, dcancel = context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.EmitWithAck(dctx, "silent")
	dcancel()
	if !errors.Is(err, ErrClientAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("server ctx deadline: %v", err)
	}
	got := make(chan error, 1)
	if err := s.EmitWithCallback("silent", 50*time.Millisecond, func(_ Args, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrClientAckTimeout) {
		t.Fatalf("server callback timeout: %v", err)
	}
}
