package ws

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Conn is a server WebSocket connection, whichever implementation serves it:
// ours (own.go: RFC 6455 framing on a hijacked connection, read by a poller
// on linux) or coder/websocket's (coder.go: permessage-deflate, and writers
// that cannot be hijacked). A session uses it only through these methods.
type Conn interface {
	// ReadMessage blocks until a data message arrives, answering control
	// frames on the way; ctx bounds the wait. It is for the time before
	// Start (an upgrade's probe), never after.
	ReadMessage(ctx context.Context) (binary bool, data []byte, err error)
	// Start hands every data message from now on to h.Message, from the
	// package's own goroutines, one at a time and in order, and h.Closed
	// once when reading ends. Bytes buffered by ReadMessage come first.
	Start(h Handler)
	// Resume restarts reading after h.Message returned false. It is called
	// once for each such false, from any goroutine, never under a lock that
	// h takes.
	Resume()
	// WriteMessage writes one whole data message (the probe's answer).
	WriteMessage(binary bool, data []byte) error
	// WriteFrames writes fs in order, gathered into as few writes as it
	// can; an empty fs writes what an inline write left. It blocks while the
	// peer does not read. Each frame of fs is cleared once written, so that
	// its data can be collected while the rest waits on a slow peer. One
	// goroutine at a time (the session's writer).
	WriteFrames(fs []Frame) error
	// InlineWrites reports whether WriteInline is available.
	InlineWrites() bool
	// WriteInline writes fs without blocking: what the socket does not take
	// at once is kept (pending) for the next WriteFrames, which must then
	// come. Only when InlineWrites, and never beside a WriteFrames.
	WriteInline(fs []Frame) (pending bool, err error)
	// Close is our side of the closing handshake: a close frame with code,
	// then a wait of at most CloseTimeout for the peer's, then the TCP
	// connection is closed.
	Close(code websocket.StatusCode, reason string)
	// CloseNow closes the TCP connection without a closing handshake (a
	// connection that failed, whose close frame the peer must still read,
	// goes within CloseTimeout).
	CloseNow()
}

// Handler receives what a started Conn reads.
type Handler interface {
	// Message is one data message; data is the receiver's. It returns false
	// when the receiver has no room: nothing more is read until Resume.
	Message(binary bool, data []byte) bool
	// Closed reports, once, that reading ended: err wraps ErrFailed when the
	// peer broke the protocol or a limit (it was told with a close code),
	// else the connection closed.
	Closed(err error)
}

// Frame is one data frame to write: binary, or text made of Prefix (when not
// 0) followed by Data (an Engine.IO packet: its type digit and its data).
type Frame struct {
	Binary bool
	Prefix byte
	Data   []byte
}

// size is the frame's payload length.
func (f *Frame) size() int {
	if f.Prefix != 0 && !f.Binary {
		return 1 + len(f.Data)
	}
	return len(f.Data)
}

var (
	// ErrFailed marks a connection failed by a protocol violation or a limit.
	ErrFailed = errors.New("engineio: websocket failed")
	// ErrClosed is the end of a connection closed by the peer or by us.
	ErrClosed = errors.New("engineio: websocket closed")
)

// CloseTimeout bounds a closing handshake, and the drain of a failed
// connection.
const CloseTimeout = 5 * time.Second

// Options configure Accept.
type Options struct {
	// Limit is the largest message accepted (MaxHTTPBufferSize).
	Limit int
	// Deflate: permessage-deflate is negotiated (coder/websocket serves).
	Deflate bool
	// Accept are coder/websocket's options (origin checks, compression).
	Accept *websocket.AcceptOptions
	// Spawn runs fn on a goroutine the server counts, or returns false when
	// the server shuts down (the connection is then closed instead).
	Spawn func(fn func()) bool
	// Stop ends when the server shuts down: the drain of a failed connection
	// (at most CloseTimeout) ends with it. Nil: never.
	Stop context.Context
}

// Accept upgrades r: with our own handshake and framing when w can be
// hijacked and permessage-deflate is off, else with coder/websocket. On error
// the request has been answered.
func Accept(w http.ResponseWriter, r *http.Request, o *Options) (Conn, error) {
	if canHijack(w) && !o.Deflate {
		return acceptOwn(w, r, o)
	}
	return acceptCoder(w, r, o)
}

// Reader flow: a reader whose handler returned false stops (flowStopped)
// until Resume; a Resume that comes before the reader has recorded its stop
// leaves flowResumed, and the stop is then cancelled.
const (
	flowRunning int32 = iota
	flowStopped
	flowResumed
)

// flow is a reader's stop and resume.
type flow struct {
	state atomic.Int32
	wake  chan struct{} // cap 1: wakes a goroutine reader (wait)
}

// stop records that the handler returned false; false when a Resume came
// first (reading goes on).
func (f *flow) stop() bool {
	if f.state.CompareAndSwap(flowRunning, flowStopped) {
		return true
	}
	f.state.Store(flowRunning) // flowResumed
	return false
}

// resume ends a stop; it reports whether the reader had stopped (and must
// be woken).
func (f *flow) resume() bool {
	for {
		switch f.state.Load() {
		case flowStopped:
			if f.state.CompareAndSwap(flowStopped, flowRunning) {
				return true
			}
		case flowRunning:
			if f.state.CompareAndSwap(flowRunning, flowResumed) {
				return false
			}
		default:
			return false
		}
	}
}

func (f *flow) running() bool { return f.state.Load() != flowStopped }

// signal wakes a goroutine reader waiting in wait.
func (f *flow) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// wait blocks a goroutine reader while it is stopped; false once done is
// closed.
func (f *flow) wait(done <-chan struct{}) bool {
	for !f.running() {
		select {
		case <-f.wake:
		case <-done:
			return false
		}
	}
	return true
}

// GrowMin is the smallest read buffer Grow makes.
const GrowMin = 1024

// Grow returns b, or a copy of b with more room when b is full: its capacity
// is multiplied by four, or set to need (the size that the frame or body
// being read is declared to take, counted from b's start) once that is at
// most twice the next step. A buffer thus holds at most eight times the
// bytes it has received (or GrowMin), and the copying amortizes to O(1) per
// byte received. need must be larger than len(b) for b to grow.
func Grow(b []byte, need int) []byte {
	if len(b) < cap(b) {
		return b
	}
	n := max(4*cap(b), GrowMin)
	if need <= 2*n {
		n = max(need, len(b)+1)
	}
	nb := make([]byte, len(b), n)
	copy(nb, b)
	return nb
}

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, GrowMin); return &b }}

// maxPooledReadBuf: larger read buffers are left to the GC.
const maxPooledReadBuf = 256 << 10

// The writers' encoding buffer is pooled.
const maxPooledWriteBuf = 64 << 10

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// canHijack reports whether w, or a writer it wraps, implements http.Hijacker.
func canHijack(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// Pollers reports whether started connections of ours are read by pollers
// (linux: epoll sets, no goroutine per connection) rather than by a
// goroutine each.
const Pollers = parkSupported
