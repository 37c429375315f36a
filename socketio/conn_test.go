package socketio

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// TestSlowHandlerPausesSession: a handler that does not return lets
// dispatchQueueLen events of its connection wait, then the session is paused
// (its connection is not read); once the handler runs again the session is
// resumed and every event is handled, in order.
func TestSlowHandlerPausesSession(t *testing.T) {
	srv := newTestServer(t, nil)
	release := make(chan struct{})
	got := make(chan int, 2*dispatchQueueLen)
	srv.OnConnection(func(s *Socket) {
		s.On("ev", func(_ *Socket, args Args, _ AckFunc) {
			var i int
			if err := args.Decode(0, &i); err != nil {
				t.Errorf("decode: %v", err)
			}
			if i == 0 {
				<-release
			}
			got <- i
		})
	})
	c := dial(t, srv)
	c.connect("/")
	const n = dispatchQueueLen + dispatchQueueLen/2
	for i := range n {
		c.send(`2["ev",` + strconv.Itoa(i) + `]`)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.sess.pauses.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session was not paused")
		}
		time.Sleep(time.Millisecond)
	}
	// Paused: the session delivers no more, so what it was given and not yet
	// delivered stays with it.
	if held := len(c.sess.in); held == 0 {
		t.Fatal("paused, yet every message was taken")
	}
	close(release)
	for want := range n {
		select {
		case i := <-got:
			if i != want {
				t.Fatalf("event %d handled as number %d", i, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d not handled", want)
		}
	}
	c.sess.mu.Lock()
	paused := c.sess.resumed != nil
	c.sess.mu.Unlock()
	if paused || c.sess.pauses.Load() != 1 {
		t.Fatalf("after the handlers ran: paused %v, %d pauses", paused, c.sess.pauses.Load())
	}
}

// TestEmitRightAfterConnectReply: an emit to a socket made as soon as its
// CONNECT reply is on its way reaches it (the socket is in its own room before
// the client can know its id), and comes after the reply.
func TestEmitRightAfterConnectReply(t *testing.T) {
	srv := newTestServer(t, nil)
	c := &client{t: t, sess: newFakeSession(), done: make(chan struct{})}
	emitted := make(chan struct{})
	c.sess.onSend = func(msgs []engineio.Message) {
		p := string(msgs[0].Data)
		if !strings.HasPrefix(p, `0{"sid":"`) {
			return
		}
		sid := p[len(`0{"sid":"`) : len(p)-2]
		// The emit runs beside the reply being queued; it may have to wait
		// for it, so it is not waited for here beyond a moment.
		go func() {
			defer close(emitted)
			if err := srv.To(sid).Emit("hello"); err != nil {
				t.Errorf("emit: %v", err)
			}
		}()
		select {
		case <-emitted:
		case <-time.After(100 * time.Millisecond):
		}
	}
	go func() {
		defer close(c.done)
		srv.serveSession(c.sess)
	}()
	t.Cleanup(func() {
		c.sess.Close()
		<-c.done
	})
	c.send("0")
	c.expectPrefix(`0{"sid":"`)
	c.expect(`2["hello"]`)
	<-emitted
}
