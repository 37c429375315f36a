package engineio

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
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
	return len(s.out) > 0 || s.noop || s.closed || s.websocket
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
	if s.upgrading {
		// A GET that arrives during an upgrade may race the client's
		// "5" on the WebSocket. As the reference (which answers such GETs on a
		// 100 ms tick) it is held briefly: if the upgrade completes meanwhile it
		// gets 400 like any later polling request, else the noop.
		wake := make(chan struct{}, 1)
		t := time.NewTimer(upgradePollHold)
	hold:
		for s.upgrading && !s.closed {
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
		if s.websocket {
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
			upgraded := s.websocket
			s.mu.Unlock()
			if !upgraded {
				s.closeWith(ReasonTransportError)
			}
			return
		}
		s.mu.Lock()
	}
	s.poll = nil
	var body []byte
	last := false
	switch {
	case s.websocket:
		// Upgraded: the queue belongs to the WebSocket now.
		body = AppendPacket(nil, Packet{Type: PacketNoop})
	case s.closed:
		body = appendQueue(nil, s.out)
		if len(body) > 0 {
			body = append(body, recordSeparator)
		}
		body = AppendPacket(body, Packet{Type: s.final})
		s.out, s.outBytes = nil, 0
		last = s.lingering
		s.lingering = false
	case len(s.out) > 0:
		body = appendQueue(nil, s.out)
		clear(s.out)
		s.out, s.outBytes = nil, 0
	default:
		body = AppendPacket(nil, Packet{Type: PacketNoop})
	}
	if !s.upgrading {
		// While the upgrade runs every poll is released (the reference sends
		// a noop every 100 ms): a noop absorbed by a poll that carried data
		// must not leave the client's next poll waiting for the ping.
		s.noop = false
	}
	s.mu.Unlock()
	if last {
		s.srv.remove(s)
	}
	encoding := ""
	if !s.srv.opts.DisableHTTPCompression && len(body) >= s.srv.opts.HTTPCompressionThreshold {
		encoding = acceptedEncoding(r.Header.Get("Accept-Encoding"))
	}
	writePollBody(w, body, encoding)
}

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
	if dst == nil {
		dst = make([]byte, 0, n)
	}
	return AppendPayload(dst, ps)
}

// Header values shared by every polling response (net/http only reads
// them), set without Header.Set's allocation.
var (
	hdrTextPlain = []string{"text/plain; charset=UTF-8"}
	hdrTextHTML  = []string{"text/html"}
	hdrNoStore   = []string{"no-store"}
	hdrLength2   = []string{"2"}
)

// writePollBody answers a poll (or the handshake) with a payload.
func writePollBody(w http.ResponseWriter, body []byte, encoding string) {
	h := w.Header()
	h["Content-Type"] = hdrTextPlain
	h["Cache-Control"] = hdrNoStore
	if encoding == "" {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.WriteHeader(http.StatusOK)
		w.Write(body)
		return
	}
	h.Set("Content-Encoding", encoding)
	h.Add("Vary", "Accept-Encoding")
	w.WriteHeader(http.StatusOK)
	compress(w, encoding, body)
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
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		s.closeWith(ReasonTransportError)
		return
	}
	if len(body) > max {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	err = ParsePayload(body, 0, func(p Packet) error {
		if p.Type == PacketClose {
			s.awaitPoll(r)
		}
		m, ok, open := s.handlePacket(p)
		if !open {
			return errStop
		}
		if ok {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return errStop
			}
			s.deliverLocked(m)
			s.mu.Unlock()
			s.pump(true)
		}
		return nil
	})
	if err != nil && err != errStop {
		s.closeWith(ReasonParseError)
	}
	// Backpressure: answer once the handler has read enough of what came in.
	for {
		s.mu.Lock()
		wait := !s.closed && s.inBytes > max
		s.mu.Unlock()
		if !wait {
			break
		}
		select {
		case <-drained:
		case <-r.Context().Done():
			return
		}
	}
	h := w.Header()
	h["Content-Type"] = hdrTextHTML
	h["Content-Length"] = hdrLength2
	h["Cache-Control"] = hdrNoStore
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

// clientCloseGrace is how long a client's close packet waits for a poll that the
// client sent together with it (the official suite's "forcefully closes the
// session" sends both at once and expects the GET to get the noop).
const clientCloseGrace = 300 * time.Millisecond

// awaitPoll waits, up to clientCloseGrace, until a GET is held. Requests arrive on
// separate connections whose handlers run in no set order; the reference, with
// one event loop, sees them in arrival order.
func (s *Session) awaitPoll(r *http.Request) {
	deadline := time.Now().Add(clientCloseGrace)
	for {
		s.mu.Lock()
		ready := s.poll != nil || s.closed || s.websocket
		s.mu.Unlock()
		if ready || time.Now().After(deadline) || r.Context().Err() != nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}
