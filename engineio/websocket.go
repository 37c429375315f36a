package engineio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// startWriterLocked starts the websocket writer goroutine unless it runs. The
// writer exits once the queue is empty, so an idle session has none.
func (s *Session) startWriterLocked() {
	if s.writing || s.ws == nil {
		return
	}
	if !s.srv.track() {
		s.ws.closeNow() // shut down: the close frame was written or is being written
		return
	}
	s.writing = true
	go s.writeLoop(s.ws)
}

// writeLoop writes the queued packets back to back until the queue is empty; on
// a closed session it then closes the WebSocket.
func (s *Session) writeLoop(conn wsTransport) {
	defer s.srv.wg.Done()
	bufp := writeBufPool.Get().(*[]byte)
	defer func() {
		if cap(*bufp) <= maxPooledWriteBuf {
			writeBufPool.Put(bufp)
		}
	}()
	buf := (*bufp)[:0]
	var spare []Packet
	s.mu.Lock()
	cork0 := s.cork
	s.mu.Unlock()
	if err := cork0.setCorked(false); err != nil {
		// The rest of a frame that an inline write could not finish.
		s.writeFailed(conn)
		return
	}
	for {
		s.mu.Lock()
		batch := s.out
		s.out, s.outBytes = nil, 0
		if len(batch) == 0 {
			if spare != nil && !s.closed {
				s.out = spare // small, kept for the next Send
			}
			s.writing = false
			closed := s.closed
			s.mu.Unlock()
			if closed {
				conn.close(websocket.StatusNormalClosure, "")
			}
			return
		}
		cork := s.cork
		s.mu.Unlock()
		// Data frames go straight to the cork writer (see rawFrames); the rest
		// through coder/websocket.
		raw := s.rawFrames(cork)
		// Gather a batch, or a message too large for the write buffer (its header
		// and payload would otherwise take two syscalls), into one write.
		corked := len(batch) > 1 || (!raw && len(batch[0].Data) > wsWriteBufferSize-16)
		if corked {
			cork.setCorked(true)
		}
		for i, p := range batch {
			var err error
			switch {
			case raw && p.Binary && len(p.Data) > wsSmallBinary:
				var hdr [maxFrameHeader]byte
				err = cork.writeFrame(appendFrameHeader(hdr[:0], opBinary, len(p.Data)), p.Data)
			case raw && p.Binary:
				buf = append(buf[:maxFrameHeader], p.Data...)
				_, err = cork.Write(frameInPlace(buf, opBinary))
			case raw:
				buf = AppendPacket(buf[:maxFrameHeader], p)
				_, err = cork.Write(frameInPlace(buf, opText))
			case p.Binary:
				err = conn.writeMessage(true, p.Data)
			default:
				buf = AppendPacket(buf[:0], p)
				err = conn.writeMessage(false, buf)
			}
			batch[i] = Packet{}
			if i == len(batch)-1 {
				*bufp = buf
				if cap(batch) <= maxSpareQueue {
					spare = batch[:0]
				}
			}
			if err == nil && corked && i == len(batch)-1 {
				err = cork.setCorked(false)
			}
			if err != nil {
				cork.setCorked(false)
				s.writeFailed(conn)
				return
			}
		}
	}
}

// writeFailed ends the session after a write error of the writer.
func (s *Session) writeFailed(conn wsTransport) {
	s.closeWith(ReasonTransportError)
	s.mu.Lock()
	s.writing = false
	s.out, s.outBytes = nil, 0
	s.mu.Unlock()
	conn.closeNow()
}

// maxInlineBytes bounds the payload of a Send written inline (writeInline).
const maxInlineBytes = 8 << 10

// writeInline writes msgs on the caller's goroutine with one non-blocking
// write, for a Send that finds no writer running and nothing queued (s.writing
// has been set for it): a delivery then starts no goroutine. What the socket
// does not take at once stays in cork for a writer goroutine, which is also
// started when packets were queued meanwhile or the session closed.
func (s *Session) writeInline(c *wsConn, cork *corkWriter, msgs []Message) {
	bufp := writeBufPool.Get().(*[]byte)
	buf := (*bufp)[:0]
	for _, m := range msgs {
		if m.Binary {
			buf = appendFrameHeader(buf, opBinary, len(m.Data))
		} else {
			buf = appendFrameHeader(buf, opText, 1+len(m.Data))
			buf = append(buf, '0'+byte(PacketMessage))
		}
		buf = append(buf, m.Data...)
	}
	pending, err := cork.writeInline(c, buf)
	if cap(buf) <= maxPooledWriteBuf {
		*bufp = buf[:0]
		writeBufPool.Put(bufp)
	}
	if err != nil {
		s.writeFailed(c)
		return
	}
	s.mu.Lock()
	switch {
	case len(s.out) == 0 && !s.closed && !pending:
		s.writing = false
	case s.srv.track():
		go s.writeLoop(s.ws)
	default:
		s.writing = false
		c.closeNow() // shut down
	}
	s.mu.Unlock()
}

// rawFrames reports whether the session writer frames data messages itself
// and writes them to cork: true for our own WebSocket (wsConn, a hijacked
// connection without permessage-deflate), whose control frames (pong, close)
// also go through cork, so cork's lock keeps every frame whole. With
// permessage-deflate coder/websocket frames and compresses every message.
func (s *Session) rawFrames(cork *corkWriter) bool {
	return cork != nil && !s.srv.opts.PerMessageDeflate
}

// WebSocket framing of the server's data messages (RFC 6455 5.2: FIN set, no
// mask, no extension bits).
const (
	opText         = 0x1
	opBinary       = 0x2
	maxFrameHeader = 10
	// wsSmallBinary: binary messages up to this size are copied behind their
	// header and written with it; larger ones are written with writev.
	wsSmallBinary = 4 << 10
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

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledReadBuf: larger read buffers are left to the GC.
const maxPooledReadBuf = 256 << 10

// readMessage reads the next data message like websocket.Conn.Read, but into a
// pooled buffer, and returns a copy of the exact size: one allocation per
// message instead of io.ReadAll's growth from 512 bytes, and no buffer kept
// while the connection is idle.
func readMessage(ctx context.Context, conn *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	bp := readBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			readBufPool.Put(bp)
			return 0, nil, err
		}
	}
	data := make([]byte, len(b))
	copy(data, b)
	if cap(b) <= maxPooledReadBuf {
		*bp = b[:0]
		readBufPool.Put(bp)
	}
	return typ, data, nil
}

// readWebSocket reads frames until a message arrives or the session closes.
func (s *Session) readWebSocket(conn wsTransport) (Message, error) {
	for {
		binary, data, err := conn.readMessage(context.Background())
		m, ok, open := s.receivedWS(binary, data, err)
		if !open {
			return Message{}, s.closedErr()
		}
		if ok {
			return m, nil
		}
	}
}

// receivedWS processes the result of reading a WebSocket message, as
// handlePacket does; a read error closes the session.
func (s *Session) receivedWS(binary bool, data []byte, err error) (Message, bool, bool) {
	if err != nil {
		r := ReasonTransportClose
		if errors.Is(err, errWSFailed) {
			r = ReasonTransportError
		}
		s.closeWith(r)
		return Message{}, false, false
	}
	var p Packet
	if binary {
		p = Packet{Type: PacketMessage, Binary: true, Data: data}
	} else if p, err = ParsePacket(data); err != nil {
		s.closeWith(ReasonParseError)
		return Message{}, false, false
	}
	m, ok, open := s.handlePacket(p)
	if ok {
		s.srv.observeIn(websocketName, m)
	}
	return m, ok, open
}

func (s *Session) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedErrLocked()
}

// readBackground reads one message for a Read whose ctx may end first.
func (s *Session) readBackground(conn wsTransport) {
	defer s.srv.wg.Done()
	m, err := s.readWebSocket(conn)
	s.mu.Lock()
	if err == nil {
		s.deliverLocked(m)
	}
	s.bgReading = false
	signal(s.notify)
	s.mu.Unlock()
}

// upgrade serves a WebSocket that asks to take over the polling session s: probe
// ("2probe" -> "3probe"), release the pending poll with a noop, then "5".
func (srv *Server) upgrade(w http.ResponseWriter, r *http.Request, s *Session) {
	if !srv.originAllowed(w, r) {
		return
	}
	s.mu.Lock()
	dup := s.closed || s.upgrading || s.websocket || srv.opts.DisableUpgrades
	if !dup {
		s.upgrading = true
	}
	s.mu.Unlock()
	conn, err := srv.accept(w, r)
	if err != nil {
		if !dup {
			s.mu.Lock()
			s.upgrading = false
			s.mu.Unlock()
		}
		return
	}
	if dup {
		// As the reference: complete the handshake, then close.
		conn.close(websocket.StatusNormalClosure, "")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.upgrading = false
		s.mu.Unlock()
		conn.closeNow()
		return
	}
	s.probe = conn
	s.mu.Unlock()

	fail := func() {
		s.mu.Lock()
		if s.probe == conn {
			s.probe = nil
		}
		s.upgrading = false
		s.noop = false
		s.mu.Unlock()
		conn.close(websocket.StatusNormalClosure, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), srv.opts.UpgradeTimeout)
	defer cancel()
	for {
		binary, data, err := conn.readMessage(ctx)
		if err != nil {
			fail()
			return
		}
		if binary {
			fail()
			return
		}
		switch string(data) {
		case "2probe":
			if err := conn.writeMessage(false, []byte("3probe")); err != nil {
				fail()
				return
			}
			s.mu.Lock()
			s.noop = true
			signal(s.poll)
			s.mu.Unlock()
			continue
		case "5":
		default:
			fail()
			return
		}
		break
	}
	s.mu.Lock()
	if s.closed || s.probe != conn {
		s.mu.Unlock()
		conn.closeNow()
		return
	}
	s.srv.observeUpgraded()
	s.probe = nil
	s.upgrading = false
	s.websocket = true
	s.ws = conn
	s.cork = conn.corkWriter()
	s.noop = false
	signal(s.poll)
	if len(s.out) > 0 {
		s.startWriterLocked()
	}
	signal(s.notify)
	push := s.push
	s.mu.Unlock()
	if push {
		s.receiveWebSocket(conn)
	}
}

// The writer's encoding buffer is pooled; a small queue slice is kept by an idle
// session to spare the next Send an allocation.
const (
	maxPooledWriteBuf = 64 << 10
	maxSpareQueue     = 4
)

var writeBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// wsCloseTimeout bounds a graceful close behind a writer that is still busy.
const wsCloseTimeout = 5 * time.Second

// Buffer sizes handed to coder/websocket (permessage-deflate connections) for
// a connection's life, instead of net/http's hijacked 4 KiB each; messages
// larger than these buffers are read and written around them, so small buffers
// only cost syscalls on bursts of small frames.
const (
	wsReadBufferSize  = 512
	wsWriteBufferSize = 1024
)

// smallBuffers wraps a ResponseWriter so that websocket.Accept keeps smaller
// buffers than net/http's for the connection's life, and writes through a
// corkWriter.
type smallBuffers struct {
	http.ResponseWriter
	cork *corkWriter // set by Hijack
}

// Hijack hijacks the underlying connection and returns buffers of our sizes,
// carrying over any bytes net/http had already read from the client.
func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	var r io.Reader = conn
	size := wsReadBufferSize
	n := brw.Reader.Buffered()
	if n > 0 {
		early, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
		size = max(size, n)
	}
	br := bufio.NewReaderSize(r, size)
	if n > 0 {
		br.Peek(n) // buffered, so that Accept's own carry-over sees them
	}
	w.cork = &corkWriter{conn: conn}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.cork, wsWriteBufferSize)), nil
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// corkLimit bounds the bytes a corked writer holds before writing them.
const corkLimit = 64 << 10

var corkPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// corkWriter is the one way frames reach a WebSocket connection: our own
// frames (data, and control frames of wsConn), the rest of a frame that an
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
func (w *corkWriter) writeInline(c *wsConn, b []byte) (pending bool, err error) {
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
