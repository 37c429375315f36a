package ws

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// This file is our server WebSocket connection (RFC 6455) for the common
// case: a hijackable connection and no permessage-deflate. The handshake, the
// reading and the framing are ours. Compared with a coder/websocket Conn an
// idle connection keeps no bufio buffers, no goroutine of its own and no read
// buffer: bytes are read into a pooled buffer that is held only while a frame
// is incomplete. Started on linux, it is parked in an epoll set
// (poll_linux.go) and holds no goroutine either.

// refuseHandshake answers a refused WebSocket handshake as the reference's ws
// library does: the status, "Connection: close", a text/html body of msg, and
// the versions it speaks when the version was the problem.
func refuseHandshake(w http.ResponseWriter, code int, msg, versions string) {
	hdr := w.Header()
	hdr["Connection"] = []string{"close"}
	hdr["Content-Type"] = []string{"text/html"}
	hdr["Content-Length"] = []string{strconv.Itoa(len(msg))}
	if versions != "" {
		hdr["Sec-Websocket-Version"] = []string{versions}
	}
	w.WriteHeader(code)
	io.WriteString(w, msg)
}

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// errHandshake is returned when the upgrade request was refused (answered).
var errHandshake = errors.New("engineio: websocket handshake refused")

// acceptOwn checks the opening handshake (RFC 6455 4.2.1), answers 101 on the
// hijacked connection and returns our ownConn. Its refusals are the reference's
// (the ws library's): same checks in the same order, same status, headers and
// text.
func acceptOwn(w http.ResponseWriter, r *http.Request, o *Options) (Conn, error) {
	h := r.Header
	switch {
	case !r.ProtoAtLeast(1, 1) || !HeaderHasToken(h, "Connection", "upgrade"):
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "engineio: not a WebSocket handshake", http.StatusUpgradeRequired)
		return nil, errHandshake
	case r.Method != http.MethodGet:
		refuseHandshake(w, http.StatusMethodNotAllowed, "Invalid HTTP method", "")
		return nil, errHandshake
	case !strings.EqualFold(h.Get("Upgrade"), "websocket"):
		refuseHandshake(w, http.StatusBadRequest, "Invalid Upgrade header", "")
		return nil, errHandshake
	}
	keys := h.Values("Sec-WebSocket-Key")
	var key string
	if len(keys) == 1 {
		key = keys[0]
	}
	if k, err := base64.StdEncoding.DecodeString(key); err != nil || len(k) != 16 {
		refuseHandshake(w, http.StatusBadRequest, "Missing or invalid Sec-WebSocket-Key header", "")
		return nil, errHandshake
	}
	if v := h.Get("Sec-WebSocket-Version"); v != "13" && v != "8" {
		// Version 8 (the last draft) frames as 13 does; ws accepts both.
		refuseHandshake(w, http.StatusBadRequest, "Missing or invalid Sec-WebSocket-Version header", "13, 8")
		return nil, errHandshake
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return nil, err
	}
	// Bytes the client sent right behind its request (frames) are kept;
	// net/http's 4 KiB buffers are not.
	var early []byte
	if n := brw.Reader.Buffered(); n > 0 {
		p, _ := brw.Reader.Peek(n)
		early = append(make([]byte, 0, max(n, GrowMin)), p...)
	}
	conn.SetDeadline(time.Time{})
	sum := sha1.Sum([]byte(key + wsGUID))
	res := make([]byte, 0, 256)
	res = append(res, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	res = base64.StdEncoding.AppendEncode(res, sum[:])
	res = append(res, "\r\n"...)
	for k, vs := range w.Header() {
		switch k {
		case "Upgrade", "Connection", "Sec-Websocket-Accept", "Content-Length", "Content-Type":
			continue
		}
		for _, v := range vs {
			res = append(append(append(append(res, k...), ": "...), v...), "\r\n"...)
		}
	}
	res = append(res, "\r\n"...)
	if _, err := conn.Write(res); err != nil {
		conn.Close()
		return nil, err
	}
	c := &ownConn{
		conn: conn,
		cork: &corkWriter{conn: conn},
		opts: o,
	}
	if sc, ok := conn.(syscall.Conn); ok {
		c.rc, _ = sc.SyscallConn()
	}
	if early != nil {
		c.rb = &early
	}
	return c, nil
}

// WebSocket opcodes beyond the data ones (cork.go).
const (
	opContinuation = 0x0
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// ownConn is our server WebSocket connection.
type ownConn struct {
	// The fields are ordered so that the small ones share words: an idle
	// connection's ownConn is one 288-byte allocation.
	conn net.Conn
	rc   syscall.RawConn // nil when conn has no file descriptor (TLS)
	cork *corkWriter
	// opts are the server's options, shared by its connections (Limit,
	// Spawn, Stop).
	opts *Options
	// closed is guarded by mu (below); whether our close frame was sent is
	// cork's state (corkWriter.closeSent), which orders it against the data
	// frames.
	closed bool
	// draining (mu): a failed connection's drain goroutine owns the socket
	// and closes it when the peer has left (drainAfterFail); CloseNow leaves
	// the socket to it.
	draining bool

	// rmu is held by whoever reads: a blocking reader, the parked reader
	// woken by the poller, or a closing handshake waiting for the peer.
	rmu  sync.Mutex
	rb   *[]byte // bytes read (pooled); nil when none unparsed
	roff int     // where the unparsed bytes of rb start
	msg  []byte  // the fragments received so far of a fragmented message
	// ended: h.Closed has been called.
	ended atomic.Bool
	msgOp byte // the opcode of that message; 0 when none
	// closeRcvd: the peer's close frame has arrived (no other will follow)
	closeRcvd bool
	// deferBlocking: the reader must not wait on the peer (a poller reads):
	// next and readAvailable stop at what would (wsBlocking).
	deferBlocking bool
	// failed: the connection failed (fail) and a goroutine of its own
	// discards what the peer still sends: nothing more is read or parsed
	// here (ReadMessage, readAvailable).
	failed bool

	// h receives the messages once started (Start).
	h    Handler
	flow flow
	done chan struct{} // closed by CloseNow (made by Start when a goroutine reads)

	mu sync.Mutex // guards closed

	park wsPark // registration with the poller (linux)
}

// wsFrame is one parsed frame; payload aliases the read buffer.
type wsFrame struct {
	fin     bool
	op      byte
	payload []byte
}

// wsProtocolError fails the connection with a close code.
type wsProtocolError struct {
	code websocket.StatusCode
	msg  string
}

func (e *wsProtocolError) Error() string { return "engineio: websocket: " + e.msg }
func (e *wsProtocolError) Unwrap() error { return ErrFailed }

var (
	errWSUnmasked  = &wsProtocolError{websocket.StatusProtocolError, "unmasked client frame"}
	errWSReserved  = &wsProtocolError{websocket.StatusProtocolError, "reserved bits or opcode"}
	errWSControl   = &wsProtocolError{websocket.StatusProtocolError, "bad control frame"}
	errWSSequence  = &wsProtocolError{websocket.StatusProtocolError, "unexpected continuation"}
	errWSCloseCode = &wsProtocolError{websocket.StatusProtocolError, "bad close frame"}
	errWSTooBig    = &wsProtocolError{websocket.StatusMessageTooBig, "message too big"}
	errWSUTF8      = &wsProtocolError{websocket.StatusInvalidFramePayloadData, "invalid UTF-8"}
)

// parseFrame parses the frame at the start of b. It returns the frame and its
// size, 0 and the size needed so far when b holds only part of it, or an error.
// The payload is unmasked in place.
func parseFrame(b []byte, limit int) (f wsFrame, n, need int, err error) {
	if len(b) < 2 {
		return f, 0, 2, nil
	}
	b0, b1 := b[0], b[1]
	if b0&0x70 != 0 {
		return f, 0, 0, errWSReserved
	}
	if b1&0x80 == 0 {
		return f, 0, 0, errWSUnmasked
	}
	f.fin = b0&0x80 != 0
	f.op = b0 & 0x0F
	switch f.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !f.fin || b1&0x7F > 125 {
			return f, 0, 0, errWSControl
		}
	default:
		return f, 0, 0, errWSReserved
	}
	hl := 2
	plen := uint64(b1 & 0x7F)
	switch plen {
	case 126:
		hl = 4
	case 127:
		hl = 10
	}
	if len(b) < hl+4 {
		return f, 0, hl + 4, nil
	}
	switch hl {
	case 4:
		plen = uint64(b[2])<<8 | uint64(b[3])
	case 10:
		plen = 0
		for _, x := range b[2:10] {
			plen = plen<<8 | uint64(x)
		}
		if plen>>63 != 0 {
			return f, 0, 0, errWSReserved
		}
	}
	if plen > uint64(limit) {
		return f, 0, 0, errWSTooBig
	}
	total := hl + 4 + int(plen)
	if len(b) < total {
		return f, 0, total, nil
	}
	f.payload = b[hl+4 : total]
	unmask(f.payload, binary.LittleEndian.Uint32(b[hl:hl+4]))
	return f, total, 0, nil
}

// unmask XORs b with the masking key (RFC 6455 5.3), given as the key's four
// bytes read little-endian, eight bytes at a time: byte i of b is XORed with
// key byte i%4, and whole words keep that alignment.
func unmask(b []byte, key uint32) {
	k := uint64(key) | uint64(key)<<32
	for len(b) >= 32 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k)
		binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k)
		binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k)
		b = b[32:]
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= byte(k >> (8 * (i & 3)))
	}
}

// validCloseCode reports whether a peer may send code (RFC 6455 7.4). 1012
// to 1014 (service restart, try again later, bad gateway) are not in RFC
// 6455's text but in the IANA registry it set up (11.7), and the reference's
// ws library and coder/websocket echo them; 1004-1006 and 1015 are reserved
// and never sent on the wire (7.4.1).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// wsResult is what the frame reader found in the buffered bytes.
type wsResult int

const (
	wsNeedMore wsResult = iota // no whole message buffered
	wsMessage                  // a data message
	// wsBlocking: with deferBlocking, a ping or close frame (left buffered)
	// or a failure (readAvailable), whose answer may wait on the peer.
	wsBlocking
)

// next parses the buffered frames up to the first whole data message,
// answering control frames on the way (with deferBlocking, stopping before
// a ping or a close frame instead). rmu is held.
func (c *ownConn) next() (res wsResult, binary bool, data []byte, need int, err error) {
	for {
		if c.rb == nil {
			return wsNeedMore, false, nil, 2, nil
		}
		b := (*c.rb)[c.roff:]
		if c.deferBlocking && len(b) > 0 && (b[0]&0x0F == opPing || b[0]&0x0F == opClose) {
			// Looked at before parseFrame, which unmasks the payload in place.
			return wsBlocking, false, nil, 0, nil
		}
		limit := c.opts.Limit
		if c.msgOp != 0 && len(b) > 0 && b[0]&0x0F == opContinuation {
			// The message's total counts: a fragment declared past it
			// fails the connection before its bytes arrive.
			limit -= len(c.msg)
		}
		f, n, need, err := parseFrame(b, limit)
		if err != nil {
			return 0, false, nil, 0, err
		}
		if n == 0 {
			return wsNeedMore, false, nil, need, nil
		}
		switch f.op {
		case opPing:
			err = c.writeControl(opPong, f.payload)
		case opPong:
		case opClose:
			err = c.onClose(f.payload)
		case opText, opBinary:
			if c.msgOp != 0 {
				err = errWSSequence
				break
			}
			if f.fin {
				data = append([]byte(nil), f.payload...)
				binary = f.op == opBinary
				res = wsMessage
				break
			}
			c.msgOp = f.op
			c.msg = append([]byte(nil), f.payload...)
		case opContinuation:
			if c.msgOp == 0 {
				err = errWSSequence
				break
			}
			c.msg = append(c.msg, f.payload...)
			if f.fin {
				data, binary, res = c.msg, c.msgOp == opBinary, wsMessage
				c.msg, c.msgOp = nil, 0
			}
		}
		c.consume(n)
		if err != nil {
			return 0, false, nil, 0, err
		}
		if res == wsMessage {
			if !binary && !utf8.Valid(data) {
				return 0, false, nil, 0, errWSUTF8
			}
			return res, binary, data, 0, nil
		}
	}
}

// consume drops the first n unparsed bytes; an emptied buffer goes back to
// the pool. The bytes behind them stay where they are (space moves them
// once, before the next read): moving them for every frame would copy the
// buffer once per frame, a cost per byte that grows with the buffer.
func (c *ownConn) consume(n int) {
	c.roff += n
	if c.roff == len(*c.rb) {
		c.releaseBuffer()
	}
}

func (c *ownConn) releaseBuffer() {
	if c.rb == nil {
		return
	}
	if cap(*c.rb) <= maxPooledReadBuf {
		*c.rb = (*c.rb)[:0]
		readBufPool.Put(c.rb)
	}
	c.rb = nil
	c.roff = 0
}

// space returns the free tail of the read buffer. A full buffer grows
// towards need, the size of the frame being read (Grow): with the bytes
// that arrive, never at once to what the frame's header declares.
func (c *ownConn) space(need int) []byte {
	if c.rb == nil {
		c.rb = readBufPool.Get().(*[]byte)
	}
	b := *c.rb
	if c.roff > 0 {
		// The unparsed bytes (the start of a frame) move to the front.
		b = b[:copy(b, b[c.roff:])]
		*c.rb = b
		c.roff = 0
	}
	if len(b) == cap(b) {
		nb := Grow(b, need)
		if cap(b) <= maxPooledReadBuf {
			*c.rb = b[:0]
			readBufPool.Put(c.rb)
		}
		c.rb = &nb
		b = nb
	}
	return b[len(b):cap(b)]
}

// filled records n bytes read into space's tail; an empty buffer is released.
func (c *ownConn) filled(n int) {
	if n > 0 {
		*c.rb = (*c.rb)[:len(*c.rb)+n]
	} else if len(*c.rb) == 0 {
		c.releaseBuffer()
	}
}

// ReadMessage reads with blocking reads until a data message arrives.
func (c *ownConn) ReadMessage(ctx context.Context) (bool, []byte, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.failed {
		return false, nil, ErrClosed
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			// Under rmu: a failed connection keeps the deadline of its
			// drain (drainAfterFail).
			if stop() && !c.failed {
				c.conn.SetReadDeadline(time.Time{})
			}
		}()
	}
	for {
		res, binary, data, need, err := c.next()
		if err != nil {
			return false, nil, c.fail(err)
		}
		if res == wsMessage {
			return binary, data, nil
		}
		p := c.space(need)
		n, err := c.conn.Read(p)
		c.filled(n)
		if err != nil {
			c.CloseNow()
			return false, nil, ErrClosed
		}
	}
}

// fail ends the connection after a read error. A protocol error is answered
// with its close code; then, as RFC 6455 7.1.7 asks of a failed connection,
// nothing more is parsed: the bytes behind the bad frame (which may look like
// frames, the peer's close frame among them) are dropped. rmu is held.
func (c *ownConn) fail(err error) error {
	var pe *wsProtocolError
	if !errors.As(err, &pe) {
		c.CloseNow()
		return err
	}
	c.msg, c.msgOp = nil, 0
	c.releaseBuffer()
	sent, werr := c.writeClose(pe.code, "")
	if !sent || werr != nil || c.closeRcvd || !c.drainAfterFail() {
		c.CloseNow()
	}
	return err
}

// drainAfterFail ends a failed connection as the reference's ws library does:
// our side is shut down behind the close frame (the peer reads it, then end
// of stream), and what the peer still sends is read and discarded, unparsed,
// until it closes its side or CloseTimeout passes; then the connection is
// closed. Closing at once instead, with unread bytes, would reset the
// connection, and a reset may destroy our close frame before the peer reads
// it. That wait is a goroutine's of its own (the session closes now), which
// reads into one pooled buffer, reused. It returns false when nothing was
// started (the caller closes the connection). rmu is held.
func (c *ownConn) drainAfterFail() bool {
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok || c.opts.Spawn == nil {
		return false
	}
	// Out of the poller, and nobody reads or parses here any more.
	c.unpark()
	c.failed = true
	c.conn.SetReadDeadline(time.Now().Add(CloseTimeout))
	if cw.CloseWrite() != nil {
		return false
	}
	// From here the session may end (CloseNow) while the peer is still
	// sending: the socket stays open for the drain, or the reset that closing
	// it with unread bytes causes could destroy our close frame.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.draining = true
	c.mu.Unlock()
	started := c.opts.Spawn(func() {
		if st := c.opts.Stop; st != nil {
			// The server shutting down ends the wait at once.
			stop := context.AfterFunc(st, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
			defer stop()
		}
		bp := readBufPool.Get().(*[]byte)
		b := (*bp)[:cap(*bp)]
		for {
			if _, err := c.conn.Read(b); err != nil {
				break
			}
		}
		readBufPool.Put(bp)
		c.closeSocket()
	})
	if !started {
		c.mu.Lock()
		c.draining = false
		c.mu.Unlock()
	}
	return started
}

// onClose answers the peer's close frame: its code is echoed (RFC 6455 5.5.1),
// then the TCP connection is closed. rmu is held.
func (c *ownConn) onClose(p []byte) error {
	c.closeRcvd = true
	code := websocket.StatusNoStatusRcvd
	if len(p) == 1 {
		return errWSCloseCode
	}
	if len(p) >= 2 {
		code = websocket.StatusCode(int(p[0])<<8 | int(p[1]))
		if !validCloseCode(int(code)) {
			return errWSCloseCode
		}
		if !utf8.Valid(p[2:]) {
			return errWSUTF8
		}
	}
	if code == websocket.StatusNoStatusRcvd {
		c.writeCloseFrame(nil)
	} else {
		c.writeClose(code, "")
	}
	c.CloseNow()
	return ErrClosed
}

// writeControl writes a control frame at once (past a batch being gathered).
func (c *ownConn) writeControl(op byte, payload []byte) error {
	var b [2 + 125]byte
	f := append(b[:0], 0x80|op, byte(len(payload)))
	f = append(f, payload...)
	return c.cork.writeNow(f)
}

// writeClose sends our close frame once; sent is false when it was already
// sent or the connection is closed.
func (c *ownConn) writeClose(code websocket.StatusCode, reason string) (sent bool, err error) {
	var p [125]byte
	b := append(p[:0], byte(code>>8), byte(code))
	if len(reason) > 123 {
		reason = reason[:123]
	}
	b = append(b, reason...)
	return c.writeCloseFrame(b)
}

func (c *ownConn) writeCloseFrame(payload []byte) (sent bool, err error) {
	if c.isClosed() {
		return false, nil
	}
	var b [2 + 125]byte
	f := append(b[:0], 0x80|opClose, byte(len(payload)))
	f = append(f, payload...)
	// Set before cork's lock is taken: a session writer blocked on a peer
	// that does not read holds it, and ends by this deadline.
	c.conn.SetWriteDeadline(time.Now().Add(CloseTimeout))
	return c.cork.writeClose(f)
}

// awaitClose reads, at most CloseTimeout, until the peer's close frame;
// data frames are discarded. rmu is held.
func (c *ownConn) awaitClose() {
	c.conn.SetReadDeadline(time.Now().Add(CloseTimeout))
	need := 2
	for {
		if c.rb != nil {
			f, n, nd, err := parseFrame((*c.rb)[c.roff:], c.opts.Limit)
			if err != nil {
				return
			}
			if n > 0 {
				c.consume(n)
				if f.op == opClose {
					return
				}
				continue
			}
			need = nd
		}
		p := c.space(need)
		k, err := c.conn.Read(p)
		c.filled(k)
		if err != nil {
			return
		}
	}
}

// WriteMessage writes one data message as a single frame.
func (c *ownConn) WriteMessage(binary bool, data []byte) error {
	op := byte(opText)
	if binary {
		op = opBinary
	}
	var hdr [maxFrameHeader]byte
	return c.cork.writeFrame(appendFrameHeader(hdr[:0], op, len(data)), data)
}

// Close is our side of the closing handshake.
func (c *ownConn) Close(code websocket.StatusCode, reason string) {
	sent, err := c.writeClose(code, reason)
	if !sent {
		return // whoever sent it closes the connection
	}
	if err != nil {
		c.CloseNow()
		return
	}
	// A blocked reader ends by the deadline, or by the peer's close frame.
	c.conn.SetReadDeadline(time.Now().Add(CloseTimeout))
	c.rmu.Lock()
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.awaitClose()
		c.CloseNow()
	}
	c.rmu.Unlock()
}

// CloseNow closes the TCP connection (and leaves the poller). A failed
// connection whose drain has started is closed by the drain, within
// CloseTimeout, once the peer has read our close frame and left.
func (c *ownConn) CloseNow() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.done != nil {
		close(c.done)
	}
	draining := c.draining
	c.mu.Unlock()
	c.unpark()
	if !draining {
		c.conn.Close()
	}
}

// closeSocket ends a drain: the connection is closed, socket included.
func (c *ownConn) closeSocket() {
	c.CloseNow()
	c.conn.Close()
}

func (c *ownConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Start hands the messages to h: read by a poller when the platform and
// the connection allow it, else by a goroutine of its own.
func (c *ownConn) Start(h Handler) {
	c.h = h
	if c.rc != nil && c.startParked() == nil {
		return
	}
	c.flow.wake = make(chan struct{}, 1)
	c.mu.Lock()
	c.done = make(chan struct{})
	if c.closed {
		close(c.done)
	}
	c.mu.Unlock()
	if !c.opts.Spawn(c.readLoop) {
		c.CloseNow() // shut down
		c.end(ErrClosed)
	}
}

// readLoop is the goroutine reader: it reads with blocking reads until the
// connection ends.
func (c *ownConn) readLoop() {
	for {
		binary, data, err := c.ReadMessage(context.Background())
		if err != nil {
			c.end(err)
			return
		}
		if !c.h.Message(binary, data) && c.flow.stop() && !c.flow.wait(c.done) {
			c.end(ErrClosed)
			return
		}
	}
}

// end reports the end of reading to the handler, once.
func (c *ownConn) end(err error) {
	if c.ended.CompareAndSwap(false, true) {
		c.h.Closed(err)
	}
}

// Resume restarts a stopped reader: a goroutine reader is woken, a parked
// connection is read on the caller's goroutine (kick).
func (c *ownConn) Resume() {
	if !c.flow.resume() {
		return
	}
	if c.done != nil {
		c.flow.signal()
		return
	}
	c.kick()
}

// InlineWrites: a parked connection (a file descriptor on linux) can be
// written without blocking.
func (c *ownConn) InlineWrites() bool { return c.rc != nil && parkSupported }

// WriteInline frames fs into one buffer and writes what the socket takes
// at once; the rest stays in the cork, written first by the next WriteFrames.
func (c *ownConn) WriteInline(fs []Frame) (pending bool, err error) {
	bufp := writeBufPool.Get().(*[]byte)
	buf := (*bufp)[:0]
	for i := range fs {
		f := &fs[i]
		if f.Binary {
			buf = appendFrameHeader(buf, opBinary, len(f.Data))
		} else {
			buf = appendFrameHeader(buf, opText, f.size())
			if f.Prefix != 0 {
				buf = append(buf, f.Prefix)
			}
		}
		buf = append(buf, f.Data...)
	}
	pending, err = c.cork.writeInline(c, buf)
	if cap(buf) <= maxPooledWriteBuf {
		*bufp = buf[:0]
		writeBufPool.Put(bufp)
	}
	return pending, err
}

// WriteFrames frames fs itself and writes them through the cork: a batch,
// gathered, with one write; a large binary payload with writev behind its
// header; the rest of an inline write first.
func (c *ownConn) WriteFrames(fs []Frame) error {
	w := c.cork
	if len(fs) == 0 {
		return w.setCorked(false)
	}
	corked := len(fs) > 1
	if corked {
		w.setCorked(true)
	}
	bufp := writeBufPool.Get().(*[]byte)
	buf := *bufp
	var err error
	for i := range fs {
		f := &fs[i]
		switch {
		case f.Binary && len(f.Data) > smallBinary:
			var hdr [maxFrameHeader]byte
			err = w.writeFrame(appendFrameHeader(hdr[:0], opBinary, len(f.Data)), f.Data)
		case f.Binary:
			buf = append(buf[:maxFrameHeader], f.Data...)
			_, err = w.Write(frameInPlace(buf, opBinary))
		default:
			buf = buf[:maxFrameHeader]
			if f.Prefix != 0 {
				buf = append(buf, f.Prefix)
			}
			buf = append(buf, f.Data...)
			_, err = w.Write(frameInPlace(buf, opText))
		}
		*f = Frame{}
		if err != nil {
			break
		}
	}
	if cap(buf) <= maxPooledWriteBuf {
		*bufp = buf[:0]
		writeBufPool.Put(bufp)
	}
	if corked || err != nil {
		if e := w.setCorked(false); err == nil {
			err = e
		}
	}
	return err
}

// HeaderHasToken reports whether a comma-separated list of header key has
// token (case-insensitive).
func HeaderHasToken(h http.Header, key, token string) bool {
	for _, v := range h[key] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
