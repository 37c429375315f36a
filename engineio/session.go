package engineio

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/corvid-io/corvid/internal/ws"
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
// The handler given to NewServer owns the receiving side: either it calls
// Read in a loop, or it calls Receive once and the server's goroutines push
// each message to it (push mode: no goroutine waits for an idle session).
// Either way the transport is read by the same path (receive): a WebSocket
// by a poller or a reader goroutine of its connection, polling by the POSTs;
// Read takes messages from the queue that path fills. Send, TrySend, Close,
// ID, Transport, Handshake and Context are safe for concurrent use.
//
// # State and ownership
//
// A session's lifecycle is state (sessionState), changed only by
// setStateLocked along the transitions it allows. Every field below mu is
// guarded by mu; no call holds mu while doing I/O or running user code.
// Which goroutines touch what:
//
//   - state, reason, conn, probe: the request handlers (handshake, upgrade,
//     polling), the timer, closeWith (any goroutine), under mu.
//   - out, outBytes, writing: Send (any goroutine) queues; the one writer
//     (the goroutine that set writing: writeLoop, or Send's inline write)
//     takes the queue and writes it to conn; a held poll takes it (polling).
//   - in, recv, paused, stopped: the one reader of the transport (the
//     connection's poller or reader goroutine, or the POST being read)
//     queues through receive; the receiver (Read, or pump in push mode,
//     run by one goroutine at a time: recvBusy) takes from the queue.
//   - timer, deadline, hb: the heartbeat, armed under mu; its function runs
//     on the runtime's timer goroutine.
//
// Lock order: Server.mu and Session.mu are never held together
// (Server.trackMu, which counts a goroutine about to start, may be taken
// under Session.mu, and is never held while taking anything). Under
// Session.mu nothing of the connection (ws.Conn) is called that may block or
// take the connection's reader lock: Resume and the writes come after
// unlocking. The connection's own locks (its reader lock, then its writer's
// cork lock, then its closed flag) are internal/ws's.
type Session struct {
	srv       *Server
	id        string
	handshake *Handshake

	mu     sync.Mutex
	state  sessionState
	reason Reason                  // why it closed (state.closed())
	ctx    context.Context         // made by the first Context call
	cancel context.CancelCauseFunc // of ctx

	conn   ws.Conn // the WebSocket: set when the session opens on it or upgrades to it
	probe  ws.Conn // the WebSocket of an upgrade in progress
	inline bool    // conn takes inline writes (Send writes on its caller's goroutine)

	// outgoing packets not yet written
	out      []Packet
	outBytes int
	writing  bool // a writer owns conn's writing side (writeLoop or an inline write)

	// polling
	poll    chan struct{} // wakes the held GET
	posting bool          // a POST is being read

	// incoming messages not yet taken by the receiver, and their charge
	in      inbound
	recv    recvState
	onMsg   func(Message) // push mode (Receive)
	onEnd   func(error)
	paused  bool          // Pause: push delivery is held back, the WebSocket is not read
	stopped bool          // the WebSocket reader waits for Resume (its handler returned false)
	notify  chan struct{} // cap 1: wakes Read; made by the first Read that waits
	drained chan struct{} // cap 1: wakes a POST waiting for room

	// heartbeat: one runtime timer per session
	timer    *time.Timer
	deadline time.Duration // of the timer, since clockBase (monotonic)
	hb       heartbeat
}

// sessionState is where a session is in its life. The transitions allowed
// are those of sessionTransitions.
type sessionState uint8

const (
	statePolling   sessionState = iota // open on polling
	stateUpgrading                     // open on polling; a WebSocket probe is connected (probe)
	stateProbed                        // upgrading, and the probe was answered: polls are released with a noop
	stateWebSocket                     // open on the WebSocket (conn)
	// stateLingering: closed on polling, kept until the client's next poll
	// takes what was queued and the last packet (close, or noop when the
	// client closed), or a timer ends the wait.
	stateLingering
	stateClosed // closed, forgotten by the server
)

// closed reports whether the session is closed (lingering or gone).
func (st sessionState) closed() bool { return st >= stateLingering }

// upgrading reports whether a WebSocket probe is in progress.
func (st sessionState) upgrading() bool { return st == stateUpgrading || st == stateProbed }

var sessionStateNames = [...]string{"polling", "upgrading", "probed", "websocket", "lingering", "closed"}

func (st sessionState) String() string { return sessionStateNames[st] }

// sessionTransitions[from] is the set of states a session may go to from
// state from (bit i: state i).
var sessionTransitions = [...]uint8{
	statePolling:   1<<stateUpgrading | 1<<stateLingering | 1<<stateClosed,
	stateUpgrading: 1<<statePolling | 1<<stateProbed | 1<<stateWebSocket | 1<<stateLingering | 1<<stateClosed,
	stateProbed:    1<<statePolling | 1<<stateWebSocket | 1<<stateLingering | 1<<stateClosed,
	stateWebSocket: 1 << stateClosed,
	stateLingering: 1 << stateClosed,
	stateClosed:    0,
}

// setStateLocked moves the session to state to; a transition that
// sessionTransitions does not allow is a bug of this package, and panics.
func (s *Session) setStateLocked(to sessionState) {
	if sessionTransitions[s.state]&(1<<to) == 0 {
		panic("engineio: session state " + s.state.String() + " -> " + to.String())
	}
	s.state = to
}

// recvState is the receiving side's mode.
type recvState uint8

const (
	recvQueue recvState = iota // messages are queued for Read (no Receive yet)
	recvPush                   // push mode, no delivery running
	recvBusy                   // push mode, a goroutine is running onMsg
	recvEnded                  // push mode, onEnd has been called
)

// heartbeat is where the ping cycle is.
type heartbeat uint8

const (
	hbIdle         heartbeat = iota // the timer sends the next ping
	hbAwaitPong                     // a ping was sent; the timer is the pong's deadline
	hbAwaitPongExt                  // as hbAwaitPong, the deadline once extended by other traffic
)

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
		if s.state.closed() {
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
	if s.conn != nil {
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
	if s.state.closed() {
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
	if len(s.out) == 0 && !s.writing && s.inline && s.state == stateWebSocket && n <= maxInlineBytes && len(msgs) <= maxInlineMessages {
		// Nothing queued and no writer: write on the caller's goroutine.
		s.writing = true
		conn := s.conn
		s.mu.Unlock()
		if obs := o.Observer; obs != nil {
			obs.MessagesOut(websocketName, len(msgs), n)
		}
		s.writeInline(conn, msgs)
		return true, nil
	}
	for _, m := range msgs {
		s.out = append(s.out, Packet{Type: PacketMessage, Binary: m.Binary, Data: m.Data})
	}
	s.outBytes += n
	s.kickLocked()
	ws := s.conn != nil
	s.mu.Unlock()
	if obs := o.Observer; obs != nil {
		obs.MessagesOut(transportName(ws), len(msgs), n)
	}
	return true, nil
}

// kickLocked gets queued packets moving: it wakes the held poll, or starts the
// websocket writer.
func (s *Session) kickLocked() {
	if s.conn != nil {
		s.startWriterLocked()
		return
	}
	signal(s.poll)
}

// handlePacket processes one packet from the client (any transport) and reports a
// message to deliver. It returns false once the session is closed.
func (s *Session) handlePacket(p Packet) (Message, bool, bool) {
	switch p.Type {
	case PacketPong:
		s.mu.Lock()
		if !s.state.closed() && s.hb != hbIdle {
			s.hb = hbIdle
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
	if s.state.closed() {
		s.mu.Unlock()
		return Message{}, false, false
	}
	if s.hb == hbAwaitPong {
		// As the reference: other traffic extends a pending pong deadline once.
		s.hb = hbAwaitPongExt
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
	return !s.state.closed() && s.hb != hbIdle && time.Since(clockBase) >= s.deadline
}

// onTimer runs on the runtime's timer goroutine: it sends a ping, detects a ping
// timeout, or ends a closed session's wait for its last poll.
func (s *Session) onTimer() {
	s.mu.Lock()
	if time.Since(clockBase) < s.deadline {
		s.mu.Unlock() // the timer was reset meanwhile; it fires again
		return
	}
	if s.state.closed() {
		linger := s.state == stateLingering
		if linger {
			s.setStateLocked(stateClosed)
		}
		s.mu.Unlock()
		if linger {
			s.srv.remove(s)
		}
		return
	}
	if s.hb != hbIdle {
		s.mu.Unlock()
		s.closeWith(ReasonPingTimeout)
		return
	}
	s.hb = hbAwaitPong
	s.out = append(s.out, Packet{Type: PacketPing})
	// The pong is due pingTimeout after the ping was due, not after this
	// timer ran (it may run late): the client's window stays
	// pingInterval + pingTimeout.
	s.setTimerAtLocked(s.deadline + s.srv.opts.PingTimeout)
	s.kickLocked()
	s.mu.Unlock()
}

// forgetLocked ends a lingering session's wait for its last poll; it
// reports whether the session must now be removed from the server.
func (s *Session) forgetLocked() bool {
	if s.state != stateLingering {
		return false
	}
	s.setStateLocked(stateClosed)
	return true
}

// finalPacketLocked is the last packet of a closed polling session: a noop
// when the client closed it (its close packet needs no answer), else close.
func (s *Session) finalPacketLocked() PacketType {
	if s.reason == ReasonTransportClose {
		return PacketNoop
	}
	return PacketClose
}

// closeWith closes the session for reason r (the first reason wins).
func (s *Session) closeWith(r Reason) {
	s.mu.Lock()
	if s.state.closed() {
		s.mu.Unlock()
		return
	}
	s.reason = r
	graceful := r == ReasonForcedClose
	if !graceful {
		clear(s.out)
		s.out = nil
		s.outBytes = 0
	}
	next := stateClosed
	var abort []ws.Conn
	var probe ws.Conn // closed with a handshake
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
	if s.conn == nil {
		if s.poll != nil {
			signal(s.poll) // the held GET takes the queue and the last packet
		} else if graceful {
			// Keep the session until the client's next poll takes the queue and the
			// close packet, as the reference does.
			next = stateLingering
			s.setTimerLocked(s.srv.opts.PingInterval + s.srv.opts.PingTimeout)
		} else if r == ReasonTransportClose {
			// The client's close packet: a poll it sent with it may come
			// just after; it gets the noop (see clientCloseGrace; the POST's
			// answer waits for it, and the timer is a backstop).
			next = stateLingering
			s.setTimerLocked(clientCloseGrace)
		}
	}
	s.setStateLocked(next)
	if s.conn != nil {
		switch {
		case r == ReasonPingTimeout || r == ReasonTransportError || r == ReasonSlowConsumer:
			abort = append(abort, s.conn)
		case s.writing:
			// The running writer sends what is queued, then the close frame; should
			// it be stuck on a peer that does not read, the connection is dropped.
			time.AfterFunc(ws.CloseTimeout, s.conn.CloseNow)
		default:
			s.startWriterLocked()
		}
	}
	if s.cancel != nil {
		// Under mu: whoever sees the session closed (a Read that returns)
		// finds its context's cause set. Cancelling runs no user code
		// (context.AfterFunc's functions run on goroutines of their own).
		s.cancel(r)
	}
	signal(s.notify)
	signal(s.drained)
	onWS := s.conn != nil
	paused := s.paused
	s.mu.Unlock()
	if obs := s.srv.opts.Observer; obs != nil {
		obs.SessionClosed(transportName(onWS), r)
	}
	if next == stateClosed {
		s.srv.remove(s)
	}
	// A paused receiver may never take the messages held back: the close
	// delivers them (pump lets them through once closed), then the end.
	s.pump(paused)
	for _, c := range abort {
		c.CloseNow()
	}
	if probe != nil {
		if !s.srv.spawn(func() { probe.Close(websocket.StatusNormalClosure, "") }) {
			probe.CloseNow()
		}
	}
}
