package ws

import (
	"net"
	"sync"
)

// WebSocket framing of the server's data messages (RFC 6455 5.2: FIN set, no
// mask, no extension bits).
const (
	opText         = 0x1
	opBinary       = 0x2
	maxFrameHeader = 10
	// smallBinary: binary messages up to this size are copied behind their
	// header and written with it; larger ones are written with writev.
	smallBinary = 4 << 10
)

// appendFrameHeader appends the header of a final frame of n payload bytes.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	switch {
	case n < 126:
		return append(b, 0x80|op, byte(n))
	case n <= 0xFFFF:
		return append(b, 0x80|op, 126, byte(n>>8), byte(n))
	default:
		return append(b, 0x80|op, 127,
			byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// frameInPlace writes the frame header into the maxFrameHeader bytes reserved
// before the payload in b and returns the frame (a suffix of b).
func frameInPlace(b []byte, op byte) []byte {
	n := len(b) - maxFrameHeader
	var hdr [maxFrameHeader]byte
	h := appendFrameHeader(hdr[:0], op, n)
	start := maxFrameHeader - len(h)
	copy(b[start:], h)
	return b[start:]
}

// corkLimit bounds the bytes a corked writer holds before writing them.
const corkLimit = 64 << 10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// corkWriter is the one way frames reach a WebSocket connection: our own
// frames (data, and control frames of ownConn), the rest of a frame that an
// inline write left (written before anything else), or coder/websocket's
// buffer, which it flushes after every message. While corked (the session
// writer is writing a batch of queued messages) the bytes are gathered and
// written with one syscall when the batch ends. The gathering buffer is pooled
// and only held during a batch.
//
// Our close frame is written by writeClose, and from then on every write is
// dropped (RFC 6455 5.5.1: nothing follows a close frame): w.mu orders the
// close frame against the session writer's frames, whichever goroutine
// writes it.
type corkWriter struct {
	mu     sync.Mutex
	conn   net.Conn
	corked bool
	buf    *[]byte
	// closeSent: our close frame was written (or tried); later writes are
	// dropped and report success, as if the peer had read them and left.
	closeSent bool
}

func (w *corkWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return len(p), nil
	}
	if !w.corked {
		// A frame's rest that an inline write left goes first, as in
		// writeFrame and writeNow.
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		return w.conn.Write(p)
	}
	if w.buf == nil {
		w.buf = corkPool.Get().(*[]byte)
	}
	if len(*w.buf)+len(p) > corkLimit {
		if err := w.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > corkLimit {
			return w.conn.Write(p)
		}
	}
	*w.buf = append(*w.buf, p...)
	return len(p), nil
}

// writeFrame writes a frame's header and payload together: gathered while
// corked, else with one writev (no other write can come between them).
func (w *corkWriter) writeFrame(hdr, payload []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return nil
	}
	if w.corked && len(hdr)+len(payload) <= corkLimit {
		if w.buf == nil {
			w.buf = corkPool.Get().(*[]byte)
		}
		if len(*w.buf)+len(hdr)+len(payload) > corkLimit {
			if err := w.flushLocked(); err != nil {
				return err
			}
		}
		*w.buf = append(append(*w.buf, hdr...), payload...)
		return nil
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	bufs := net.Buffers{hdr, payload}
	_, err := bufs.WriteTo(w.conn)
	return err
}

// writeNow writes a whole frame at once: what a batch gathered so far goes
// first, the frame right behind it (control frames: pong).
func (w *corkWriter) writeNow(p []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeNowLocked(p)
}

func (w *corkWriter) writeNowLocked(p []byte) error {
	if w.closeSent {
		return nil
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	if !w.corked && w.buf != nil {
		corkPool.Put(w.buf)
		w.buf = nil
	}
	_, err := w.conn.Write(p)
	return err
}

// writeClose writes our close frame p as writeNow does, unless one was
// written: sent reports whether this call wrote it. Every write after it is
// dropped.
func (w *corkWriter) writeClose(p []byte) (sent bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return false, nil
	}
	err = w.writeNowLocked(p)
	w.closeSent = true
	if w.buf != nil {
		// Gathered after the flush above, never written now.
		corkPool.Put(w.buf)
		w.buf = nil
	}
	return true, err
}

// writeInline writes b without blocking; the bytes the socket did not take
// are kept (pending) to be written, before anything else, by the next flush.
func (w *corkWriter) writeInline(c *ownConn, b []byte) (pending bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closeSent {
		return false, nil
	}
	if w.buf != nil && len(*w.buf) > 0 {
		*w.buf = append(*w.buf, b...) // behind an earlier rest
		return true, nil
	}
	n, err := c.writeNonBlocking(b)
	if err != nil {
		return false, err
	}
	if n == len(b) {
		return false, nil
	}
	if w.buf == nil {
		w.buf = corkPool.Get().(*[]byte)
	}
	*w.buf = append((*w.buf)[:0], b[n:]...)
	return true, nil
}

func (w *corkWriter) flushLocked() error {
	if w.closeSent || w.buf == nil || len(*w.buf) == 0 {
		return nil
	}
	_, err := w.conn.Write(*w.buf)
	*w.buf = (*w.buf)[:0]
	return err
}

// setCorked starts or ends a batch; ending it writes what was gathered.
func (w *corkWriter) setCorked(on bool) error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.corked = on
	if on {
		return nil
	}
	err := w.flushLocked()
	if w.buf != nil {
		if cap(*w.buf) <= corkLimit*2 {
			corkPool.Put(w.buf)
		}
		w.buf = nil
	}
	return err
}
