package engineio

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/corvid-io/corvid/internal/ws"
)

// errStop ends ParsePayload once the session is closed.
var errStop = errors.New("engineio: stop")

// servePolling serves a request of a polling session: GET waits for packets, POST
// brings packets. Other methods get 500, as in the reference.
func (s *Session) servePolling(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.servePoll(w, r)
	case http.MethodPost:
		s.servePost(w, r)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// pollReadyLocked reports whether a GET can be answered at once.
func (s *Session) pollReadyLocked() bool {
	return len(s.out) > 0 || s.state == stateProbed || s.state.closed() || s.conn != nil
}

// upgradePollHold is how long a GET that arrives during an upgrade waits for it.
const upgradePollHold = 100 * time.Millisecond

func (s *Session) servePoll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.poll != nil {
		// A second concurrent GET: the session closes (the held GET gets the close
		// packet) and this one gets 400.
		s.mu.Unlock()
		s.closeWith(ReasonTransportError)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.state.upgrading() {
		// A GET that arrives during an upgrade may race the client's
		// "5" on the WebSocket. As the reference (which answers such GETs on a
		// 100 ms tick) it is held briefly: if the upgrade completes meanwhile it
		// gets 400 like any later polling request, else the noop.
		wake := make(chan struct{}, 1)
		t := time.NewTimer(upgradePollHold)
	hold:
		for s.state.upgrading() {
			s.poll = wake
			s.mu.Unlock()
			select {
			case <-wake: // the upgrade completed, or anything else woke the poll
			case <-t.C:
				s.mu.Lock()
				break hold
			case <-r.Context().Done():
				s.mu.Lock()
				break hold
			}
			s.mu.Lock()
		}
		t.Stop()
		if s.poll == wake {
			s.poll = nil
		}
		if s.conn != nil {
			s.mu.Unlock()
			writeError(w, false, codeBadRequest, "")
			return
		}
	}
	if !s.pollReadyLocked() {
		wake := make(chan struct{}, 1)
		s.poll = wake
		s.mu.Unlock()
		select {
		case <-wake:
		case <-r.Context().Done():
			s.mu.Lock()
			s.poll = nil
			upgraded := s.conn != nil
			s.mu.Unlock()
			if !upgraded {
				s.closeWith(ReasonTransportError)
			}
			return
		}
		s.mu.Lock()
	}
	s.poll = nil
	// The queue is taken under the lock and encoded after it, so that a Send
	// (a broadcast) does not wait for the encoding.
	var queue []Packet
	tail, hasTail := PacketNoop, false // a packet after the queue
	last := false
	switch {
	case s.conn != nil:
		// Upgraded: the queue belongs to the WebSocket now.
		hasTail = true
	case s.state.closed():
		queue, tail, hasTail = s.out, s.finalPacketLocked(), true
		s.out, s.outBytes = nil, 0
		last = s.forgetLocked()
	case len(s.out) > 0:
		queue = s.out
		s.out, s.outBytes = nil, 0
	default:
		// Nothing to send: the poll was released for the upgrade (while
		// it runs every poll is, as the reference sends a noop every
		// 100 ms).
		hasTail = true
	}
	s.mu.Unlock()
	if last {
		s.srv.remove(s)
	}
	pb := getPollBuf()
	body := appendQueue(pb.b[:0], queue)
	if hasTail {
		if len(body) > 0 {
			body = append(body, recordSeparator)
		}
		body = AppendPacket(body, Packet{Type: tail})
	}
	pb.b = body
	if len(queue) > 0 {
		clear(queue)
		if cap(queue) <= maxPollSpareQueue {
			s.mu.Lock()
			if s.out == nil && !s.state.closed() {
				s.out = queue[:0] // kept for the next Send
			}
			s.mu.Unlock()
		}
	}
	encoding := ""
	if !s.srv.opts.DisableHTTPCompression && len(body) >= s.srv.opts.HTTPCompressionThreshold {
		encoding = acceptedEncoding(r.Header.Get("Accept-Encoding"))
	}
	writePollBody(w, body, encoding)
	putPollBuf(pb)
}

// maxPollSpareQueue is the largest queue array a poll gives back to its
// session (for the next Send, which would otherwise allocate it again).
const maxPollSpareQueue = 16

// appendQueue appends the payload encoding of ps to dst, growing it once.
func appendQueue(dst []byte, ps []Packet) []byte {
	if len(ps) == 0 {
		return dst
	}
	n := len(ps)
	for _, p := range ps {
		if p.Binary {
			n += 1 + (len(p.Data)+2)/3*4
		} else {
			n += 1 + len(p.Data)
		}
	}
	dst = slices.Grow(dst, n)
	return AppendPayload(dst, ps)
}

// pollBuf is a pooled buffer that a poll's body is built in (or compressed
// into); net/http copies what is written, so it is reused once written.
type pollBuf struct{ b []byte }

// Write appends p (compress writes through it).
func (pb *pollBuf) Write(p []byte) (int, error) {
	pb.b = append(pb.b, p...)
	return len(p), nil
}

var pollBufPool sync.Pool // *pollBuf

// maxPooledPollBuf is the largest buffer put back in pollBufPool.
const maxPooledPollBuf = 64 << 10

// getPollBuf returns an empty buffer from pollBufPool (or a new one).
func getPollBuf() *pollBuf {
	if pb, _ := pollBufPool.Get().(*pollBuf); pb != nil {
		return pb
	}
	return &pollBuf{b: make([]byte, 0, 1024)}
}

// putPollBuf gives pb back to pollBufPool unless it grew too large.
func putPollBuf(pb *pollBuf) {
	if cap(pb.b) <= maxPooledPollBuf {
		pb.b = pb.b[:0]
		pollBufPool.Put(pb)
	}
}

// Header values shared by every polling response (net/http only reads
// them), set without Header.Set's allocation.
var (
	hdrTextPlain = []string{"text/plain; charset=UTF-8"}
	hdrTextHTML  = []string{"text/html"}
	hdrNoStore   = []string{"no-store"}
	hdrLength2   = []string{"2"}
	hdrGzip      = []string{"gzip"}
	hdrDeflate   = []string{"deflate"}
	hdrVaryAE    = []string{"Accept-Encoding"}
)

// autoLengthMax is the largest body for which net/http computes the
// Content-Length itself (without allocating) when the handler writes it in
// one call and returns: it fits net/http's buffer before chunking (2 KiB, see
// http.ResponseWriter.Write). Larger bodies get an explicit Content-Length, so
// that no polling response is chunked.
const autoLengthMax = 2048

// writePollBody answers a poll (or the handshake) with a payload, in one Write
// and with a Content-Length; encoding ("gzip", "deflate" or "") compresses it.
func writePollBody(w http.ResponseWriter, body []byte, encoding string) {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
	if encoding == "" {
		writeWithLength(w, h, body)
		return
	}
	if encoding == "gzip" {
		h["Content-Encoding"] = hdrGzip
	} else {
		h["Content-Encoding"] = hdrDeflate
	}
	addSharedValue(h, "Vary", hdrVaryAE)
	zb := getPollBuf()
	compress(zb, encoding, body)
	writeWithLength(w, h, zb.b)
	putPollBuf(zb)
}

// writeWithLength writes a 200 answer of body (the last write of the handler).
func writeWithLength(w http.ResponseWriter, h http.Header, body []byte) {
	if len(body) > autoLengthMax {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func (s *Session) servePost(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		// v4 payloads are text; the reference refuses and closes.
		s.closeWith(ReasonTransportError)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	if s.posting {
		s.mu.Unlock()
		s.closeWith(ReasonTransportError)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.posting = true
	if s.drained == nil {
		s.drained = make(chan struct{}, 1)
	}
	drained := s.drained
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.posting = false
		s.mu.Unlock()
	}()

	max := s.srv.opts.MaxHTTPBufferSize
	if r.ContentLength > int64(max) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	body, tooLarge, err := s.readPostBody(w, r, max)
	if err != nil {
		s.closeWith(ReasonTransportError)
		return
	}
	if tooLarge {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	aborted := false
	closing := false // the payload carries the client's close packet
	err = ParsePayload(body, 0, func(p Packet) error {
		closing = closing || p.Type == PacketClose
		m, ok, open := s.handlePacket(p)
		if !open {
			return errStop
		}
		if ok {
			s.srv.observeIn(pollingName, m)
			// Backpressure within the body too: a payload of many tiny
			// messages is taken only as fast as they are read.
			if !s.receive(m, false) && !s.awaitRoom(r, drained) {
				aborted = true
				return errStop
			}
		}
		return nil
	})
	if aborted {
		// The client left in the middle of its payload: the rest of it is
		// lost, so is the session.
		s.closeWith(ReasonTransportError)
		return
	}
	if err != nil && err != errStop {
		s.pump(true)
		s.closeWith(ReasonParseError)
	}
	if closing {
		s.endLinger(r)
	}
	// Backpressure: answer once the handler has read enough of what came in.
	if !s.awaitRoom(r, drained) {
		return
	}
	h := w.Header()
	h["Content-Type"] = hdrTextHTML
	h["Content-Length"] = hdrLength2
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

// awaitRoom holds the POST r while the session's inbound queue is full;
// false when the request ended first.
func (s *Session) awaitRoom(r *http.Request, drained chan struct{}) bool {
	for {
		s.mu.Lock()
		wait := !s.state.closed() && s.in.full(s.srv.opts.MaxHTTPBufferSize)
		s.mu.Unlock()
		if !wait {
			return true
		}
		select {
		case <-drained:
		case <-r.Context().Done():
			return false
		}
	}
}

// readPostBody reads the body of a POST of at most max bytes (a declared
// Content-Length has been checked against max by the caller). Its buffer
// grows with the bytes that arrive (ws.Grow), never at once to the declared
// length: a body of up to 2 KiB gets one slice of its size, a larger one
// grows in steps. The packets parsed from it keep referring to it.
//
// The body must arrive within PingInterval+PingTimeout (45 s by default): a
// client that declares a body and goes silent is dropped then, instead of
// holding the request forever. The body, read to its end, is closed: net/http
// then writes the answer without first trying to discard what remains of it.
func (s *Session) readPostBody(w http.ResponseWriter, r *http.Request, max int) (body []byte, tooLarge bool, err error) {
	if r.ContentLength == 0 {
		r.Body.Close()
		return nil, false, nil
	}
	rc := http.NewResponseController(w)
	timeout := s.srv.opts.PingInterval + s.srv.opts.PingTimeout
	// A deadline set here replaces the http.Server's own: its ReadTimeout,
	// when shorter, stays the bound (counted from now, a little later than
	// the server counts it).
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && hs.ReadTimeout > 0 && hs.ReadTimeout < timeout {
		timeout = hs.ReadTimeout
	}
	if rc.SetReadDeadline(time.Now().Add(timeout)) == nil {
		defer func() {
			// Lifted once the body is read: net/http's background read,
			// which notices a client that leaves while the answer waits,
			// must not time out. Kept after a failure, so that net/http
			// does not wait on the rest of the body either.
			if err == nil && !tooLarge {
				rc.SetReadDeadline(time.Time{})
			}
		}()
	}
	need := max + 1
	if r.ContentLength > 0 {
		need = int(r.ContentLength)
	}
	for {
		if len(body) == cap(body) {
			if len(body) >= need {
				// All that was declared (or one byte past max) is here.
				if len(body) > max {
					return nil, true, nil // (closing would read the rest)
				}
				var one [1]byte
				if _, err := r.Body.Read(one[:]); err != io.EOF {
					return nil, false, io.ErrUnexpectedEOF
				}
				break
			}
			body = ws.Grow(body, need)
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if len(body) > max {
			return nil, true, nil
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	r.Body.Close()
	return body, false, nil
}

// clientCloseGrace is how long a session closed by the client's close packet
// stays known for a poll the client sent together with the close (the
// official suite's "forcefully closes the session" sends both at once and
// expects the GET to get the noop): requests arrive on separate connections
// whose handlers run in no set order, while the reference, with one event
// loop, sees them in arrival order. The close itself is not delayed: as in
// the reference, the session ends (and its handler learns it) when the packet
// is read, before the client can open the next one. Only the answer to the
// POST that carried it waits (see endLinger).
const clientCloseGrace = 300 * time.Millisecond

// endLinger holds the answer to the POST that carried the client's close
// packet until a poll took the noop or clientCloseGrace has passed, then
// forgets the session: a request the client sends once it has this answer
// finds the session gone (400), as with the reference.
func (s *Session) endLinger(r *http.Request) {
	deadline := time.Now().Add(clientCloseGrace)
	for {
		s.mu.Lock()
		linger := s.state == stateLingering && s.reason == ReasonTransportClose
		s.mu.Unlock()
		if !linger {
			return
		}
		if time.Now().After(deadline) || r.Context().Err() != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.mu.Lock()
	end := s.forgetLocked()
	s.mu.Unlock()
	if end {
		s.srv.remove(s)
	}
}
