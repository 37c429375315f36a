package socketio

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// fakeSession is an in-process Engine.IO session: the test plays the client by
// pushing messages into in and reading what the server sent from out.
type fakeSession struct {
	id     string
	hs     *engineio.Handshake
	ctx    context.Context
	cancel context.CancelCauseFunc
	in     chan engineio.Message

	mu      sync.Mutex
	out     []engineio.Message
	limit   int // queue limit in messages (0: none); drained by next()
	notify  chan struct{}
	discard bool // benchmarks: count only
	autoAck bool // answer every EVENT with an ack id by an empty ACK
	sent    atomic.Int64

	resumed chan struct{} // while paused: closed by Resume
	pauses  atomic.Int64  // Pause calls that paused

	onSend func(msgs []engineio.Message) // called after msgs were queued (set before use)
}

var fakeIDs atomic.Int64

func newFakeSession() *fakeSession {
	u, _ := url.Parse("/socket.io/?EIO=4&transport=websocket&foo=bar")
	f := &fakeSession{
		id: "eio" + strconv.FormatInt(fakeIDs.Add(1), 10),
		hs: &engineio.Handshake{
			Header:     http.Header{"User-Agent": {"test"}},
			Query:      u.Query(),
			RemoteAddr: "127.0.0.1",
			URL:        u,
			Time:       time.Now(),
		},
		in:     make(chan engineio.Message, 1024),
		notify: make(chan struct{}, 1),
	}
	f.ctx, f.cancel = context.WithCancelCause(context.Background())
	return f
}

func (f *fakeSession) ID() string                     { return f.id }
func (f *fakeSession) Transport() string              { return "websocket" }
func (f *fakeSession) Handshake() *engineio.Handshake { return f.hs }
func (f *fakeSession) Context() context.Context       { return f.ctx }

// Receive delivers the messages the test pushes into in, one at a time and
// in order, then the session's end, as engineio's push mode does.
func (f *fakeSession) Receive(onMessage func(engineio.Message), onClose func(error)) {
	go func() {
		for {
			f.mu.Lock()
			resumed := f.resumed
			f.mu.Unlock()
			if resumed != nil {
				select {
				case <-resumed:
					continue
				case <-f.ctx.Done():
				}
			}
			select {
			case m := <-f.in:
				onMessage(m)
			case <-f.ctx.Done():
				onClose(context.Cause(f.ctx))
				return
			}
		}
	}()
}

// Pause and Resume hold back and release the delivery, as engineio's do.
func (f *fakeSession) Pause() {
	f.mu.Lock()
	if f.resumed == nil {
		f.resumed = make(chan struct{})
		f.pauses.Add(1)
	}
	f.mu.Unlock()
}

func (f *fakeSession) Resume() {
	f.mu.Lock()
	if f.resumed != nil {
		close(f.resumed)
		f.resumed = nil
	}
	f.mu.Unlock()
}

func (f *fakeSession) push(msgs []engineio.Message, volatile bool) (bool, error) {
	if f.ctx.Err() != nil {
		return false, context.Cause(f.ctx)
	}
	f.mu.Lock()
	if f.discard {
		f.mu.Unlock()
		f.sent.Add(int64(len(msgs)))
		if f.autoAck {
			f.answer(msgs[0].Data)
		}
		return true, nil
	}
	if f.limit > 0 && len(f.out)+len(msgs) > f.limit {
		f.mu.Unlock()
		if volatile {
			return false, nil
		}
		f.closeWith(engineio.ReasonSlowConsumer)
		return false, engineio.ReasonSlowConsumer
	}
	f.out = append(f.out, msgs...)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
	if f.onSend != nil {
		f.onSend(msgs)
	}
	return true, nil
}

func (f *fakeSession) Send(msgs ...engineio.Message) error {
	_, err := f.push(msgs, false)
	return err
}

func (f *fakeSession) TrySend(msgs ...engineio.Message) bool {
	ok, _ := f.push(msgs, true)
	return ok
}

func (f *fakeSession) closeWith(r engineio.Reason) { f.cancel(r) }

func (f *fakeSession) Close() error {
	f.closeWith(engineio.ReasonForcedClose)
	return nil
}

// client is the test's side of a fakeSession served by a Server.
type client struct {
	t    testing.TB
	sess *fakeSession
	done chan struct{}
}

// dial serves a new fake session on srv.
func dial(t testing.TB, srv *Server) *client {
	t.Helper()
	c := &client{t: t, sess: newFakeSession(), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		srv.serveSession(c.sess)
	}()
	t.Cleanup(func() {
		c.sess.Close()
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			t.Errorf("the session's goroutines did not end:\n%s", strings.Join(testutil.Goroutines(), "\n\n"))
		}
	})
	return c
}

func (c *client) send(text string) {
	c.sess.in <- engineio.Message{Data: []byte(text)}
}

func (c *client) sendBinary(b []byte) {
	c.sess.in <- engineio.Message{Binary: true, Data: b}
}

// next returns the next message the server sent, failing the test after 5 s.
func (c *client) next() engineio.Message {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		c.sess.mu.Lock()
		if len(c.sess.out) > 0 {
			m := c.sess.out[0]
			c.sess.out = c.sess.out[1:]
			c.sess.mu.Unlock()
			return m
		}
		c.sess.mu.Unlock()
		select {
		case <-c.sess.notify:
		case <-deadline:
			c.t.Fatal("no message from the server within 5s")
		}
	}
}

// expect reads the next message and checks it is the text want.
func (c *client) expect(want string) {
	c.t.Helper()
	m := c.next()
	if m.Binary || string(m.Data) != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.Data, m.Binary, want)
	}
}

// expectPrefix reads the next message, checks its prefix and returns it.
func (c *client) expectPrefix(prefix string) string {
	c.t.Helper()
	m := c.next()
	if m.Binary || len(m.Data) < len(prefix) || string(m.Data[:len(prefix)]) != prefix {
		c.t.Fatalf("got %q, want prefix %q", m.Data, prefix)
	}
	return string(m.Data)
}

// expectBinary reads the next message and checks it is the binary want.
func (c *client) expectBinary(want []byte) {
	c.t.Helper()
	m := c.next()
	if !m.Binary || string(m.Data) != string(want) {
		c.t.Fatalf("got %q (binary %v), want binary %q", m.Data, m.Binary, want)
	}
}

// expectClosed waits until the server closed the session and returns the reason.
func (c *client) expectClosed() error {
	c.t.Helper()
	select {
	case <-c.sess.ctx.Done():
		return context.Cause(c.sess.ctx)
	case <-time.After(5 * time.Second):
		c.t.Fatal("the server did not close the connection")
		return nil
	}
}

// connect joins nsp ("/" or "/name") and returns the socket id.
func (c *client) connect(nsp string) string {
	c.t.Helper()
	prefix := "0"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.send(prefix)
	got := c.expectPrefix(prefix + `{"sid":"`)
	return got[len(prefix)+8 : len(got)-2]
}

func msg(text string) engineio.Message { return engineio.Message{Data: []byte(text)} }

// answer queues the ACK of the text EVENT packet b when it asks for one.
func (f *fakeSession) answer(b []byte) {
	if len(b) < 2 || b[0] != '2' {
		return
	}
	i := 1
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i == 1 {
		return
	}
	ack := make([]byte, 0, i+2)
	ack = append(ack, '3')
	ack = append(ack, b[1:i]...)
	ack = append(ack, "[]"...)
	f.in <- engineio.Message{Data: ack}
}
