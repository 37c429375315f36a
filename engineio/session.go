package engineio

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Handshake describes the request that opened a session. The server keeps this
// copy, never the *http.Request itself. Cookies are read from Header, which
// also holds the request's Host (net/http moves it out of the request's
// header; Node's headers have it). Its size is bounded by
// ServerOptions.MaxHandshakeHeaderBytes.
//
// A Handshake is read-only: sessions whose handshake had the same URL share
// one URL, one Query and one RequestURI string.
type Handshake struct {
	Header     http.Header
	Query      url.Values
	RemoteAddr string // "host:port", as http.Request.RemoteAddr
	RemoteIP   string // RemoteAddr's IP without the port ("127.0.0.1", "::1"), as Node's remoteAddress
	URL        *url.URL
	RequestURI string // URL.RequestURI()
	Secure     bool   // the handshake came over TLS
	Time       time.Time
}

// Session is one Engine.IO session on the server.
//
// The handler given to NewServer owns reading: either it calls Read in a loop
// (a WebSocket session is read directly by that call, so heartbeats are
// processed only while someone reads), or it calls Receive once and the
// server's goroutines push each message to it (push mode: no goroutine waits
// for an idle session). Send, TrySend, Close, ID, Transport, Handshake and
// Context are safe for concurrent use.
//
// The session's state is guarded by one mutex; no call holds it while doing I/O or
// running user code. Timers are runtime timers (one per session).
type Session struct {
	srv       *Server
	id        string
	handshake *Handshake
	ctx       context.Context // made by the first Context call (mu)
	cancel    context.CancelCauseFunc

	mu        sync.Mutex
	closed    bool
	reason    Reason
	websocket bool        // the current transport is websocket
	ws        wsTransport // when websocket
	cork      *corkWriter // under ws: gathers a batch's frames into one write
	probe     wsTransport // the WebSocket of an upgrade in progress
	upgrading bool

	// outgoing packets not yet written
	out      []Packet
	outBytes int
	writing  bool // a websocket writer goroutine is running

	// polling
	poll      chan struct{} // wakes the held GET
	posting   bool
	noop      bool       // the next poll is released with a noop (upgrade probe)
	final     PacketType // close or noop: ends the polling transport once closed
	lingering bool       // closed, waiting for a last GET to deliver the close packet

	// incoming messages not yet read, and their charge
	in        inbound
	notify    chan struct{} // cap 1: wakes Read; made by the first Read that waits
	drained   chan struct{} // cap 1: wakes a POST waiting for room
	roomed    chan struct{} // cap 1: wakes a WebSocket reader waiting for room
	reading   bool
	bgReading bool

	// push mode (Receive)
	push    bool
	onMsg   func(Message)
	onEnd   func(error)
	pushing bool // a goroutine is running onMsg
	ended   bool // onEnd has been called
	// paused (Pause): written under mu, read without it by the connection's
	// reader; resumed is closed by Resume.
	paused     atomic.Bool
	resumed    chan struct{}
	parkedConn *wsConn // the WebSocket read by a poller, if any

	// heartbeat
	timer        *time.Timer
	deadline     time.Duration // of the timer, since clockBase (monotonic)
	awaitingPong bool
	refreshed    bool
}

// ID returns the session id (sid).
func (s *Session) ID() string { return s.id }

// Handshake returns the handshake request's details.
func (s *Session) Handshake() *Handshake { return s.handshake }

// Context returns a context cancelled when the session closes, with the close
// Reason as its cause (context.Cause).
func (s *Session) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		// Made on first use: most sessions never need one.
		s.ctx, s.cancel = context.WithCancelCause(context.Background())
		if s.closed {
			s.cancel(s.reason)
		}
	}
	return s.ctx
}

// Transport returns the current transport: "polling" or "websocket".
func (s *Session) Transport() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transportLocked()
}

func (s *Session) transportLocked() string {
	if s.websocket {
		return websocketName
	}
	return pollingName
}

// Close closes the session with ReasonForcedClose: messages already queued are
// still delivered, then the client gets the close. It is idempotent and does not
// wait.
func (s *Session) Close() error {
	s.closeWith(ReasonForcedClose)
	return nil
}

func (s *Session) closedErrLocked() error { return &sessionClosedError{reason: s.reason} }

func signal(ch chan struct{}) {
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Send queues msgs to be sent, in order and together, and returns without waiting.
// The session keeps the messages' Data until written: do not modify it afterwards.
// When the queue would go over its limit (ServerOptions.MaxSendQueueBytes,
// MaxSendQueueLen), the session is closed with ReasonSlowConsumer. On a closed
// session Send returns an error wrapping the close Reason.
func (s *Session) Send(msgs ...Message) error {
	_, err := s.send(msgs, false)
	return err
}

// TrySend is Send for volatile messages: when the queue is full, or the session
// closed, it drops msgs and returns false.
func (s *Session) TrySend(msgs ...Message) bool {
	ok, _ := s.send(msgs, true)
	return ok
}

func (s *Session) send(msgs []Message, volatile bool) (bool, error) {
	n := 0
	for _, m := range msgs {
		n += len(m.Data)
	}
	s.mu.Lock()
	if s.closed {
		err := s.closedErrLocked()
		s.mu.Unlock()
		return false, err
	}
	o := s.srv.opts
	if s.outBytes+n > o.MaxSendQueueBytes || len(s.out)+len(msgs) > o.MaxSendQueueLen {
		s.mu.Unlock()
		if volatile {
			return false, nil
		}
		s.closeWith(ReasonSlowConsumer)
		return false, &sessionClosedError{reason: ReasonSlowConsumer}
	}
	if len(s.out) == 0 && !s.writing && s.websocket && n <= maxInlineBytes {
		if c, ok := s.ws.(*wsConn); ok && parkSupported && c.rc != nil {
			// Nothing queued and no writer: write on the caller's goroutine.
			s.writing = true
			cork := s.cork
			s.mu.Unlock()
			if obs := o.Observer; obs != nil {
				obs.MessagesOut(websocketName, len(msgs), n)
			}
			s.writeInline(c, cork, msgs)
			return true, nil
		}
	}
	for _, m := range msgs {
		s.out = append(s.out, Packet{Type: PacketMessage, Binary: m.Binary, Data: m.Data})
	}
	s.outBytes += n
	s.kickLocked()
	ws := s.websocket
	s.mu.Unlock()
	if obs := o.Observer; obs != nil {
		obs.MessagesOut(transportName(ws), len(msgs), n)
	}
	return true, nil
}

// kickLocked gets queued packets moving: it wakes the held poll, or starts the
// websocket writer.
func (s *Session) kickLocked() {
	if s.websocket {
		s.startWriterLocked()
		return
	}
	signal(s.poll)
}

// Read returns the next message from the client. It blocks until one arrives, the
// session closes (the error then wraps the close Reason), or ctx is done.
//
// On a WebSocket session Read reads the connection itself when ctx is
// context.Background() (or has no Done channel) or is the session's Context: the
// handler's goroutine is then the only one serving the session. With another ctx,
// a short-lived goroutine reads the next message so that Read can return at ctx's
// end without closing the connection. Read is meant for one goroutine at a time.
func (s *Session) Read(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.in.len() > 0 {
			m := s.popInLocked()
			s.mu.Unlock()
			return m, nil
		}
		if s.closed {
			err := s.closedErrLocked()
			s.mu.Unlock()
			return Message{}, err
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return Message{}, err
		}
		if s.websocket && !s.bgReading && !s.reading {
			conn := s.ws
			if ctx.Done() == nil || s.ctx != nil && ctx.Done() == s.ctx.Done() {
				s.reading = true
				s.mu.Unlock()
				m, err := s.readWebSocket(conn)
				s.mu.Lock()
				s.reading = false
				signal(s.notify) // another Read may be waiting for its turn
				s.mu.Unlock()
				return m, err
			}
			s.bgReading = true
			s.srv.wg.Add(1)
			go s.readBackground(conn)
		}
		if s.notify == nil {
			s.notify = make(chan struct{}, 1) // push mode never needs it
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// popInLocked takes the oldest unread message and wakes a POST waiting for
// room; s.in is not empty.
func (s *Session) popInLocked() Message {
	m := s.in.pop()
	signal(s.drained)
	signal(s.roomed)
	return m
}

// deliverLocked queues a message received over polling (or by a background read)
// for Read.
func (s *Session) deliverLocked(m Message) {
	s.in.push(m)
	signal(s.notify)
}

// handlePacket processes one packet from the client (any transport) and reports a
// message to deliver. It returns false once the session is closed.
func (s *Session) handlePacket(p Packet) (Message, bool, bool) {
	switch p.Type {
	case PacketPong:
		s.mu.Lock()
		if !s.closed && s.awaitingPong {
			s.awaitingPong = false
			s.setTimerLocked(s.srv.opts.PingInterval)
		}
		s.mu.Unlock()
		return Message{}, false, true
	case PacketClose:
		s.closeWith(ReasonTransportClose)
		return Message{}, false, false
	case PacketPing:
		// Only the server pings in v4 (the probe is handled by the upgrade).
		s.closeWith(ReasonTransportError)
		return Message{}, false, false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Message{}, false, false
	}
	if s.awaitingPong && !s.refreshed {
		// As the reference: other traffic extends a pending pong deadline once.
		s.refreshed = true
		s.setTimerLocked(s.srv.opts.PingTimeout)
	}
	s.mu.Unlock()
	if p.Type == PacketMessage {
		return Message{Binary: p.Binary, Data: p.Data}, true, true
	}
	return Message{}, false, true
}

// clockBase is the origin of Session.deadline: a duration on the monotonic
// clock takes a third of a time.Time's room.
var clockBase = time.Now()

// setTimerLocked (re)arms the session's single timer to fire after d.
func (s *Session) setTimerLocked(d time.Duration) { s.setTimerAtLocked(time.Since(clockBase) + d) }

// setTimerAtLocked (re)arms the session's single timer to fire at deadline
// (since clockBase).
func (s *Session) setTimerAtLocked(deadline time.Duration) {
	s.deadline = deadline
	d := deadline - time.Since(clockBase)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.onTimer)
		return
	}
	s.timer.Reset(d)
}

// pongOverdueLocked reports whether the session awaits a pong whose deadline
// has passed: the timer that closes it may run a little late, and a request
// that comes meanwhile must find the session gone, as the deadline says.
// s.mu is held.
func (s *Session) pongOverdueLocked() bool {
	return !s.closed && s.awaitingPong && time.Since(clockBase) >= s.deadline
}

// onTimer runs on the runtime's timer goroutine: it sends a ping, detects a ping
// timeout, or ends a closed session's wait for its last poll.
func (s *Session) onTimer() {
	s.mu.Lock()
	if time.Since(clockBase) < s.deadline {
		s.mu.Unlock() // the timer was reset meanwhile; it fires again
		return
	}
	if s.closed {
		linger := s.lingering
		s.lingering = false
		s.mu.Unlock()
		if linger {
			s.srv.remove(s)
		}
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.closeWith(ReasonPingTimeout)
		return
	}
	s.awaitingPong = true
	s.refreshed = false
	s.out = append(s.out, Packet{Type: PacketPing})
	// The pong is due pingTimeout after the ping was due, not after this
	// timer ran (it may run late): the client's window stays
	// pingInterval + pingTimeout.
	s.setTimerAtLocked(s.deadline + s.srv.opts.PingTimeout)
	s.kickLocked()
	s.mu.Unlock()
}

// closeWith closes the session for reason r (the first reason wins).
func (s *Session) closeWith(r Reason) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.reason = r
	graceful := r == ReasonForcedClose
	if !graceful {
		clear(s.out)
		s.out = nil
		s.outBytes = 0
	}
	removeNow := true
	var abort []wsTransport
	var probe wsTransport // closed with a handshake
	if s.probe != nil {
		// The client may already have sent the upgrade packet and moved to the
		// probe: as the reference, a graceful close closes the probe with a close
		// frame (the client sees "transport close"), not a reset.
		if graceful {
			probe = s.probe
		} else {
			abort = append(abort, s.probe)
		}
		s.probe = nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.websocket {
		switch {
		case r == ReasonPingTimeout || r == ReasonTransportError || r == ReasonSlowConsumer:
			abort = append(abort, s.ws)
		case s.writing:
			// The running writer sends what is queued, then the close frame; should
			// it be stuck on a peer that does not read, the connection is dropped.
			conn := s.ws
			time.AfterFunc(wsCloseTimeout, conn.closeNow)
		default:
			s.startWriterLocked()
		}
	} else {
		s.final = PacketClose
		if r == ReasonTransportClose {
			s.final = PacketNoop
		}
		if s.poll != nil {
			signal(s.poll)
		} else if graceful {
			// Keep the session until the client's next poll takes the queue and the
			// close packet, as the reference does.
			s.lingering = true
			removeNow = false
			s.setTimerLocked(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
		} else if r == ReasonTransportClose {
			// The client's close packet: a poll it sent with it may come
			// just after; it gets the noop (see clientCloseGrace; the POST's
			// answer waits for it, and the timer is a backstop).
			s.lingering = true
			removeNow = false
			s.setTimerLocked(clientCloseGrace)
		}
	}
	signal(s.notify)
	signal(s.drained)
	signal(s.roomed)
	cancel := s.cancel
	ws := s.websocket
	s.mu.Unlock()
	if obs := s.srv.opts.Observer; obs != nil {
		obs.SessionClosed(transportName(ws), r)
	}
	if cancel != nil {
		cancel(r)
	}
	if removeNow {
		s.srv.remove(s)
	}
	// A paused receiver may never take the messages held back: the close
	// delivers them (pump lets them through once closed), then the end.
	s.pump(s.paused.Load())
	for _, c := range abort {
		c.closeNow()
	}
	if probe != nil {
		if !s.srv.spawn(func() { probe.close(websocket.StatusNormalClosure, "") }) {
			probe.closeNow()
		}
	}
}
