package engineio

import (
	"context"
	"errors"
	"github.com/corvid-io/corvid/internal/ws"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pushRecorder is a push-mode handler that echoes every message and records
// how the callbacks were called.
type pushRecorder struct {
	active   atomic.Int32 // onMessage calls running
	overlaps atomic.Int32
	closes   atomic.Int32
	mu       sync.Mutex
	err      error
	sessions chan *Session
	closed   chan struct{}
}

func newPushRecorder() *pushRecorder {
	return &pushRecorder{sessions: make(chan *Session, 1024), closed: make(chan struct{}, 1024)}
}

func (p *pushRecorder) handler(s *Session) {
	p.sessions <- s
	s.Receive(func(m Message) {
		if p.active.Add(1) > 1 {
			p.overlaps.Add(1)
		}
		s.Send(m)
		p.active.Add(-1)
	}, func(err error) {
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		p.closes.Add(1)
		p.closed <- struct{}{}
	})
}

func (p *pushRecorder) waitClosed(t *testing.T) error {
	t.Helper()
	select {
	case <-p.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("onClose not called")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

func (p *pushRecorder) check(t *testing.T) {
	t.Helper()
	if n := p.overlaps.Load(); n != 0 {
		t.Errorf("onMessage ran concurrently %d times", n)
	}
	if n := p.closes.Load(); n != 1 {
		t.Errorf("onClose called %d times", n)
	}
}

func TestReceiveWebSocketInOrder(t *testing.T) {
	p := newPushRecorder()
	d := stStart(t, p.handler, stOptions())
	c := d.dialOpen()
	const n = 200
	for i := range n {
		stWrite(t, c, "4m"+strconv.Itoa(i))
	}
	if err := c.Write(context.Background(), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, m := stRead(t, c); m != "4m"+strconv.Itoa(i) {
			t.Fatalf("message %d: %q", i, m)
		}
	}
	if typ, m := stRead(t, c); typ != websocket.MessageBinary || m != "\x01\x02\x03" {
		t.Fatalf("binary echo %v %q", typ, m)
	}
	c.Close(websocket.StatusNormalClosure, "")
	if err := p.waitClosed(t); !errors.Is(err, ReasonTransportClose) {
		t.Fatalf("close error %v", err)
	}
	p.check(t)
}

func TestReceivePollingAndUpgrade(t *testing.T) {
	p := newPushRecorder()
	d := stStart(t, p.handler, stOptions())
	sid := d.handshake()
	if r := d.post(d.poll(sid), "4a\x1e4b\x1ebAQI="); r.status != 200 {
		t.Fatalf("post: %d", r.status)
	}
	if r := d.get(d.poll(sid)); r.body != "4a\x1e4b\x1ebAQI=" {
		t.Fatalf("poll: %q", r.body)
	}
	c := d.upgrade(sid)
	stWrite(t, c, "4after")
	if _, m := stRead(t, c); m != "4after" {
		t.Fatalf("echo after upgrade: %q", m)
	}
	s := <-p.sessions
	s.Close()
	if err := p.waitClosed(t); !errors.Is(err, ReasonForcedClose) {
		t.Fatalf("close error %v", err)
	}
	if err := stWaitClosed(t, c); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("client saw %v", err)
	}
	p.check(t)
}

func TestReceiveAfterClose(t *testing.T) {
	// Receive on a session that is already closed reports the close at once.
	var got error
	done := make(chan struct{})
	d := stStart(t, func(s *Session) {
		s.Close()
		s.Receive(func(Message) { t.Error("message after close") }, func(err error) {
			got = err
			close(done)
		})
	}, stOptions())
	d.handshake()
	<-done
	if !errors.Is(got, ReasonForcedClose) {
		t.Fatalf("close error %v", got)
	}
}

// TestIdlePushSessionsHoldNoGoroutine opens idle WebSocket sessions in push
// mode and counts the goroutines they hold once their writers have sent the
// open packet: on linux the connections are parked in the poller.
func TestIdlePushSessionsHoldNoGoroutine(t *testing.T) {
	p := newPushRecorder()
	d := stStart(t, p.handler, stOptions())
	const n = 100
	warm := d.dialOpen()
	stWrite(t, warm, "4warm")
	stRead(t, warm)
	g0 := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = d.dialOpen()
	}
	// The clients' own goroutines: coder/websocket starts none per idle
	// connection, so what remains above g0 is the server's.
	want := 0
	if !ws.Pollers {
		want = n
	}
	var g int
	for range 500 { // the writers of the open packets exit on their own
		g = runtime.NumGoroutine() - g0
		if g <= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("goroutines per idle push-mode session: %.2f", float64(g)/n)
	if float64(g-want)/n >= 0.05 {
		t.Fatalf("%d goroutines for %d idle sessions (want %d)", g, n, want)
	}
	// Parked sessions still answer.
	for _, c := range conns[:10] {
		stWrite(t, c, "4x")
		if _, m := stRead(t, c); m != "4x" {
			t.Fatalf("echo %q", m)
		}
	}
}

// pauseRecorder is a push-mode handler that pauses its session on the
// message "pause" and records what it is given.
type pauseRecorder struct {
	sessions chan *Session
	got      chan string
	closed   chan error
}

func newPauseRecorder() *pauseRecorder {
	return &pauseRecorder{sessions: make(chan *Session, 1), got: make(chan string, 64), closed: make(chan error, 1)}
}

func (p *pauseRecorder) handler(s *Session) {
	p.sessions <- s
	s.Receive(func(m Message) {
		if string(m.Data) == "pause" {
			s.Pause()
		}
		p.got <- string(m.Data)
	}, func(err error) { p.closed <- err })
}

func (p *pauseRecorder) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-p.got:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message delivered")
		return ""
	}
}

// ended waits for onClose and checks its error wraps want.
func (p *pauseRecorder) ended(t *testing.T, want Reason) {
	t.Helper()
	select {
	case err := <-p.closed:
		if !errors.Is(err, want) {
			t.Fatalf("close error %v, want %v", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onClose not called")
	}
}

// none checks that nothing is delivered for a while: long enough for a
// message sent before it was called to be read and delivered were the
// session not paused.
func (p *pauseRecorder) none(t *testing.T) {
	t.Helper()
	select {
	case m := <-p.got:
		t.Fatalf("delivered while paused: %q", m)
	case <-time.After(150 * time.Millisecond):
	}
}

// TestReceivePauseResume: once the receiver pauses, nothing more is delivered
// until it resumes; then the messages held back come, in order, and reading
// goes on.
func TestReceivePauseResume(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			p := newPauseRecorder()
			d := stStart(t, p.handler, stOptions())
			var send func(msgs ...string)
			if transport == "websocket" {
				c := d.dialOpen()
				defer c.CloseNow()
				send = func(msgs ...string) {
					for _, m := range msgs {
						stWrite(t, c, "4"+m)
					}
				}
			} else {
				sid := d.handshake()
				send = func(msgs ...string) {
					body := ""
					for i, m := range msgs {
						if i > 0 {
							body += "\x1e"
						}
						body += "4" + m
					}
					if r := d.post(d.poll(sid), body); r.status != 200 || r.body != "ok" {
						t.Fatalf("post: %d %q", r.status, r.body)
					}
				}
			}
			s := <-p.sessions
			send("pause")
			if m := p.next(t); m != "pause" {
				t.Fatalf("first message %q", m)
			}
			send("a", "b", "c")
			p.none(t)
			s.Resume()
			for _, want := range []string{"a", "b", "c"} {
				if m := p.next(t); m != want {
					t.Fatalf("after Resume: %q, want %q", m, want)
				}
			}
			send("d")
			if m := p.next(t); m != "d" {
				t.Fatalf("after Resume: %q, want \"d\"", m)
			}
			s.Close()
			p.ended(t, ReasonForcedClose)
		})
	}
}

// TestReceiveCloseWhilePaused: a session closed while its receiver has paused
// still delivers what it holds, then its end, so that the receiver always
// learns of the close.
func TestReceiveCloseWhilePaused(t *testing.T) {
	p := newPauseRecorder()
	d := stStart(t, p.handler, stOptions())
	sid := d.handshake()
	s := <-p.sessions
	d.post(d.poll(sid), "4pause\x1e4held")
	if m := p.next(t); m != "pause" {
		t.Fatalf("first message %q", m)
	}
	p.none(t)
	s.Close()
	if m := p.next(t); m != "held" {
		t.Fatalf("after the close: %q, want \"held\"", m)
	}
	p.ended(t, ReasonForcedClose)
}
