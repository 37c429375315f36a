package socketio

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/parser"
)

// Handler types of a ClientSocket. They run on the Manager's dispatcher, one at a
// time and in order (see Manager).
type (
	// ClientEventHandler handles a received event. ack is nil unless the server
	// asked for an acknowledgement; calling it answers the server.
	ClientEventHandler func(args Args, ack AckFunc)
	// ClientAnyHandler sees every received event, before its own handler.
	ClientAnyHandler func(event string, args Args)
	// ClientAnyOutgoingHandler sees every event the socket sends, when it is
	// sent (buffered emits when the connection is back).
	ClientAnyOutgoingHandler func(event string, args []any)
	// ClientDisconnectHandler is called when a connected socket disconnects.
	ClientDisconnectHandler func(reason DisconnectReason)
	// ClientConnectErrorHandler is called when a connection attempt fails: the
	// server refused the namespace (Message and Data of its CONNECT_ERROR; the
	// socket is then inactive and does not retry), or the Engine.IO connection
	// could not be made (Message is the error's text; the Manager retries
	// unless reconnection is disabled, and its OnError handler gets the error).
	ClientConnectErrorHandler func(err *ConnectError)
	// ClientAckHandler receives the acknowledgement of an emit, or the error
	// that ended the wait (ErrClientAckTimeout, ErrClientDisconnected,
	// ErrClientClosed).
	ClientAckHandler func(args Args, err error)
)

// ClientSocket is the client side of one namespace, multiplexed with the other
// namespaces of its Manager over one Engine.IO connection. It is safe for
// concurrent use.
//
// Emits made while the socket is not connected are buffered (up to
// ClientSocketOptions.MaxBuffered) and sent, in order, when it connects again;
// volatile emits are dropped instead.
type ClientSocket struct {
	m    *Manager
	nsp  string
	opts ClientSocketOptions

	active atomic.Bool // written under m.mu: the socket wants a connection

	hmu          sync.Mutex
	events       map[string]ClientEventHandler
	anyIn        []ClientAnyHandler
	anyOut       []ClientAnyOutgoingHandler
	onConnect    func()
	onDisconnect ClientDisconnectHandler
	onConnectErr ClientConnectErrorHandler

	mu        sync.Mutex
	connected bool
	closed    bool
	id        string
	conn      *engineio.Conn
	nextID    uint64
	acks      map[uint64]*clientAck
	sendBuf   []*clientOutgoing
	queue     []*clientQueued
	waiters   []chan error
	lastErr   error // the last failed connection attempt while Connect waits

	// Connection state recovery (see Recovered).
	pid        string           // private session id of the last CONNECT reply
	lastOffset string           // offset of the last event handled
	recovered  bool             // the last connection recovered the session
	early      []*parser.Packet // events received before the CONNECT reply
}

// maxEarly bounds the events a socket keeps while it waits for the CONNECT
// reply (a recovering server replays missed packets before it); over it the
// connection is closed and the Manager reconnects.
const maxEarly = 100000

type clientOutgoing struct {
	event    string
	args     []any
	id       uint64
	hasID    bool
	msgs     []engineio.Message // encoded at emit time
	notified bool               // the outgoing catch-all handlers saw it
}

type clientAck struct {
	fn        func(Args, error) // never blocks; called outside locks
	withError bool              // told of disconnections
	timer     *time.Timer
}

type clientQueued struct {
	event   string
	args    []any
	timeout time.Duration
	done    func(Args, error) // nil when nobody waits
	tries   int
	pending bool
}

type clientFlags struct {
	volatile  bool
	timeout   time.Duration // 0: the socket's AckTimeout
	fromQueue bool
}

func newClientSocket(m *Manager, nsp string, opts ClientSocketOptions) *ClientSocket {
	return &ClientSocket{
		m:      m,
		nsp:    nsp,
		opts:   opts,
		events: make(map[string]ClientEventHandler),
		acks:   make(map[uint64]*clientAck),
	}
}

// Namespace returns the socket's namespace ("/", "/admin", ...).
func (s *ClientSocket) Namespace() string { return s.nsp }

// Manager returns the socket's Manager.
func (s *ClientSocket) Manager() *Manager { return s.m }

// ID returns the socket id the server gave (its CONNECT answer), or "" while
// disconnected.
func (s *ClientSocket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected to its namespace.
func (s *ClientSocket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket wants a connection: true from Open or
// Connect until Disconnect, a server-side disconnection or a refusal by the
// server. An active socket is reconnected by its Manager.
func (s *ClientSocket) Active() bool { return s.active.Load() }

// On sets the handler of event, replacing any previous one; nil removes it.
func (s *ClientSocket) On(event string, h ClientEventHandler) {
	s.hmu.Lock()
	if h == nil {
		delete(s.events, event)
	} else {
		s.events[event] = h
	}
	s.hmu.Unlock()
}

// Off removes the handler of event.
func (s *ClientSocket) Off(event string) { s.On(event, nil) }

// OnAny adds a handler that sees every received event (catch-all).
func (s *ClientSocket) OnAny(h ClientAnyHandler) {
	s.hmu.Lock()
	s.anyIn = cowAppend(s.anyIn, h)
	s.hmu.Unlock()
}

// OffAny removes every handler added by OnAny.
func (s *ClientSocket) OffAny() {
	s.hmu.Lock()
	s.anyIn = nil
	s.hmu.Unlock()
}

// OffAnyOutgoing removes every handler added by OnAnyOutgoing.
func (s *ClientSocket) OffAnyOutgoing() {
	s.hmu.Lock()
	s.anyOut = nil
	s.hmu.Unlock()
}

// OnAnyOutgoing adds a handler that sees every event the socket sends.
func (s *ClientSocket) OnAnyOutgoing(h ClientAnyOutgoingHandler) {
	s.hmu.Lock()
	s.anyOut = cowAppend(s.anyOut, h)
	s.hmu.Unlock()
}

// OnConnect sets the handler called each time the socket connects (again).
func (s *ClientSocket) OnConnect(h func()) {
	s.hmu.Lock()
	s.onConnect = h
	s.hmu.Unlock()
}

// OnDisconnect sets the handler called when the socket disconnects, with the
// reason: ReasonIOServerDisconnect, ReasonIOClientDisconnect (no reconnection
// after these two), ReasonPingTimeout, ReasonTransportClose,
// ReasonTransportError or ReasonParseError.
func (s *ClientSocket) OnDisconnect(h ClientDisconnectHandler) {
	s.hmu.Lock()
	s.onDisconnect = h
	s.hmu.Unlock()
}

// OnConnectError sets the handler of failed connection attempts.
func (s *ClientSocket) OnConnectError(h ClientConnectErrorHandler) {
	s.hmu.Lock()
	s.onConnectErr = h
	s.hmu.Unlock()
}

// Open makes the socket active and returns at once: the Manager connects (or
// uses its open connection) and sends the namespace's CONNECT; OnConnect or
// OnConnectError tell the outcome.
func (s *ClientSocket) Open() error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClientClosed
	}
	conn, err := s.m.activate(s)
	if err != nil {
		return err
	}
	if conn != nil {
		s.sendConnect(conn)
	}
	return nil
}

// Connect opens the socket (see Open) and waits until it is connected, the
// server refuses it (a *ConnectError), the Manager gives up (reconnection
// disabled or attempts exhausted), or ctx ends. When ctx ends first, the
// socket stays active and keeps trying; call Disconnect to stop it. The error
// of a ctx that ended after failed attempts wraps both ctx's error and the
// last attempt's (for example an *engineio.HandshakeError with Status 404).
func (s *ClientSocket) Connect(ctx context.Context) error {
	ch := make(chan error, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClientClosed
	}
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	if len(s.waiters) == 0 {
		s.lastErr = nil
	}
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	if err := s.Open(); err != nil {
		s.removeWaiter(ch)
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.removeWaiter(ch)
		s.mu.Lock()
		last := s.lastErr
		s.mu.Unlock()
		if last != nil {
			// the cause stays reachable: errors.Is(err, context.DeadlineExceeded),
			// errors.As(err, &handshakeErr) both hold
			return fmt.Errorf("socketio: connect: %w (last attempt: %w)", ctx.Err(), last)
		}
		return ctx.Err()
	}
}

func (s *ClientSocket) removeWaiter(ch chan error) {
	s.mu.Lock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
}

// wakeWaitersLocked ends the Connect calls waiting. s.mu is held.
func (s *ClientSocket) wakeWaitersLocked(err error) {
	for _, w := range s.waiters {
		w <- err // buffered, one value each
	}
	s.waiters = nil
}

// Disconnect leaves the namespace: it sends DISCONNECT when connected, reports
// ReasonIOClientDisconnect and stops reconnecting. The Manager closes its
// connection when no socket is left active. Emits buffered meanwhile are kept
// for a later Open.
func (s *ClientSocket) Disconnect() error {
	s.disconnect(false)
	return nil
}

// disconnect is Disconnect, and the socket's part of Manager.Close (closing).
func (s *ClientSocket) disconnect(closing bool) {
	s.mu.Lock()
	wasConnected := s.connected
	if wasConnected {
		s.m.send(s.conn, &parser.Packet{Type: parser.Disconnect, Namespace: s.nsp})
	}
	s.connected = false
	s.id = ""
	s.conn = nil
	var ended []*clientAck
	var queued []*clientQueued
	if closing {
		s.closed = true
		for id, a := range s.acks {
			delete(s.acks, id)
			ended = append(ended, a)
		}
		queued = s.queue
		s.queue = nil
		s.sendBuf = nil
		s.wakeWaitersLocked(ErrClientClosed)
	} else {
		ended = s.clearAcksLocked()
	}
	s.mu.Unlock()
	if !closing {
		s.m.deactivate(s)
	}
	if wasConnected {
		s.emitDisconnect(ReasonIOClientDisconnect)
	}
	err := ErrClientDisconnected
	if closing {
		err = ErrClientClosed
	}
	for _, a := range ended {
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.withError || closing {
			a.fn(nil, err)
		}
	}
	for _, q := range queued {
		if q.done != nil {
			q.done(nil, ErrClientClosed)
		}
	}
}

// clearAcksLocked removes the pending acks whose packet was sent (the buffered
// ones wait for the next connection) and returns them. s.mu is held.
func (s *ClientSocket) clearAcksLocked() []*clientAck {
	var out []*clientAck
	for id, a := range s.acks {
		buffered := false
		for _, o := range s.sendBuf {
			if o.hasID && o.id == id {
				buffered = true
				break
			}
		}
		if !buffered {
			delete(s.acks, id)
			out = append(out, a)
		}
	}
	return out
}

// sendConnect sends the namespace's CONNECT with the auth payload on conn.
// After a connection to a server with connection state recovery, the payload
// also carries the private session id and the last offset ("pid", "offset";
// keys of the auth object win, as in the reference client).
func (s *ClientSocket) sendConnect(conn *engineio.Conn) {
	auth := s.opts.Auth
	if s.opts.AuthFunc != nil {
		auth = s.opts.AuthFunc()
	}
	s.mu.Lock()
	pid, offset := s.pid, s.lastOffset
	s.early = nil
	s.mu.Unlock()
	if pid != "" {
		auth = withRecovery(auth, pid, offset)
	}
	s.m.send(conn, &parser.Packet{Type: parser.Connect, Namespace: s.nsp, Data: auth})
}

// onManagerError is told of a failed connection attempt (final when the
// Manager will not try again).
func (s *ClientSocket) onManagerError(err error, final bool) {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return
	}
	if final {
		s.wakeWaitersLocked(err)
	}
	s.lastErr = err
	s.mu.Unlock()
	if !s.Active() {
		return
	}
	s.emitConnectError(&ConnectError{Message: err.Error(), Cause: err})
}

// onClose is told that the connection closed with reason.
func (s *ClientSocket) onClose(reason DisconnectReason) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		return
	}
	s.connected = false
	s.id = ""
	s.conn = nil
	s.early = nil
	ended := s.clearAcksLocked()
	s.mu.Unlock()
	s.emitDisconnect(reason)
	for _, a := range ended {
		if a.timer != nil {
			a.timer.Stop()
		}
		if a.withError {
			a.fn(nil, ErrClientDisconnected)
		}
	}
}

// onPacket handles a packet of the socket's namespace received on conn. It
// runs on the read loop.
func (s *ClientSocket) onPacket(conn *engineio.Conn, p *parser.Packet) {
	if !s.active.Load() {
		if p.Type == parser.Connect {
			// Disconnect came before the server's answer: leave again.
			s.m.send(conn, &parser.Packet{Type: parser.Disconnect, Namespace: s.nsp})
		}
		return // like the reference, an inactive socket ignores its packets
	}
	switch p.Type {
	case parser.Connect:
		s.onConnectPacket(conn, p)
	case parser.Event, parser.BinaryEvent:
		s.onEvent(conn, p)
	case parser.Ack, parser.BinaryAck:
		s.onAck(p)
	case parser.Disconnect:
		s.m.deactivate(s)
		s.onClose(ReasonIOServerDisconnect)
	case parser.ConnectError:
		s.m.deactivate(s)
		ce := &ConnectError{}
		if v, ok := p.Data.(parser.Value); ok {
			var d any
			if err := v.Decode(&d); err == nil {
				if mp, ok := d.(map[string]any); ok {
					ce.Message, _ = mp["message"].(string)
					ce.Data = mp["data"]
				}
			}
		}
		s.mu.Lock()
		s.wakeWaitersLocked(ce)
		s.mu.Unlock()
		s.emitConnectError(ce)
	}
}

func (s *ClientSocket) onConnectPacket(conn *engineio.Conn, p *parser.Packet) {
	var sid, pid string
	if v, ok := p.Data.(parser.Value); ok {
		var d any
		if err := v.Decode(&d); err == nil {
			if mp, ok := d.(map[string]any); ok {
				sid, _ = mp["sid"].(string)
				pid, _ = mp["pid"].(string)
			}
		}
	}
	if sid == "" {
		ce := &ConnectError{Message: "socketio: CONNECT without a sid (not a Socket.IO v3+ server?)"}
		s.emitConnectError(ce)
		return
	}
	s.mu.Lock()
	if s.connected || s.closed {
		s.mu.Unlock()
		return
	}
	s.connected = true
	s.id = sid
	s.conn = conn
	s.recovered = pid != "" && pid == s.pid
	s.pid = pid
	early := s.early
	s.early = nil
	buf := s.sendBuf
	s.sendBuf = nil
	for i, o := range buf {
		if s.sendLocked(o) != nil {
			s.sendBuf = buf[i:] // the connection died already: keep the rest
			break
		}
	}
	s.drainLocked(true)
	s.wakeWaitersLocked(nil)
	s.mu.Unlock()
	// Replayed events came before the reply; like the reference client, their
	// handlers run before the connect handler.
	for _, e := range early {
		s.onEvent(conn, e)
	}
	s.dispatch(func() {
		s.hmu.Lock()
		h := s.onConnect
		s.hmu.Unlock()
		if h != nil {
			h()
		}
	})
}

// onEvent queues the handlers of a received event. While the dispatch queue is
// full it waits, at most until the connection ends (Close, or the heartbeat
// failing because the read loop stopped reading): the read loop is never stuck
// for longer than that.
func (s *ClientSocket) onEvent(conn *engineio.Conn, p *parser.Packet) {
	s.mu.Lock()
	if !s.connected {
		if len(s.early) >= maxEarly {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.early = append(s.early, p)
		s.mu.Unlock()
		return
	}
	if s.pid != "" && len(p.Args) > 0 {
		if v, ok := p.Args[len(p.Args)-1].(parser.Value); ok {
			var off string
			if v.Decode(&off) == nil {
				s.lastOffset = off
			}
		}
	}
	s.mu.Unlock()
	args := Args(p.Args)
	var ack AckFunc
	if p.HasID {
		id := p.ID
		var sent atomic.Bool
		ack = func(a ...any) error {
			if !sent.CompareAndSwap(false, true) {
				return nil
			}
			return s.m.send(s.m.currentConn(), &parser.Packet{Type: parser.Ack, Namespace: s.nsp, ID: id, HasID: true, Args: a})
		}
	}
	event := p.Event
	s.m.disp.pushWait(func() {
		s.hmu.Lock()
		anyIn := s.anyIn
		h := s.events[event]
		s.hmu.Unlock()
		for _, a := range anyIn {
			a(event, args)
		}
		if h != nil {
			h(args, ack)
		}
	}, conn.Context().Done())
}

func (s *ClientSocket) onAck(p *parser.Packet) {
	s.mu.Lock()
	a := s.acks[p.ID]
	if a == nil {
		s.mu.Unlock()
		return
	}
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
	args := p.Args
	if args == nil {
		args = []any{}
	}
	a.fn(Args(args), nil)
}

func (s *ClientSocket) dispatch(fn func()) { s.m.disp.push(fn) }

func (s *ClientSocket) emitDisconnect(reason DisconnectReason) {
	s.dispatch(func() {
		s.hmu.Lock()
		h := s.onDisconnect
		s.hmu.Unlock()
		if h != nil {
			h(reason)
		}
	})
}

func (s *ClientSocket) emitConnectError(ce *ConnectError) {
	s.dispatch(func() {
		s.hmu.Lock()
		h := s.onConnectErr
		s.hmu.Unlock()
		if h != nil {
			h(ce)
		}
	})
}

// Emitting.

// ClientEmitter emits with flags (Volatile, Timeout). It is a small value;
// its methods are those of the socket.
type ClientEmitter struct {
	s     *ClientSocket
	flags clientFlags
}

// Volatile returns an emitter whose events are dropped instead of buffered
// while the socket is not connected (and bypass the retry queue).
func (s *ClientSocket) Volatile() ClientEmitter {
	return ClientEmitter{s: s, flags: clientFlags{volatile: true}}
}

// Timeout returns an emitter whose acknowledgements fail with
// ErrClientAckTimeout after d (instead of the socket's AckTimeout).
func (s *ClientSocket) Timeout(d time.Duration) ClientEmitter {
	return ClientEmitter{s: s, flags: clientFlags{timeout: d}}
}

// Volatile returns e with the volatile flag.
func (e ClientEmitter) Volatile() ClientEmitter { e.flags.volatile = true; return e }

// Timeout returns e with the ack timeout d.
func (e ClientEmitter) Timeout(d time.Duration) ClientEmitter { e.flags.timeout = d; return e }

// Emit sends event with args (Go values; []byte at any depth travels as binary;
// received Args may be forwarded). It does not wait for the network: while the
// socket is not connected the event is buffered (see ClientSocket).
func (s *ClientSocket) Emit(event string, args ...any) error {
	_, err := s.emit(event, args, clientFlags{}, nil, false)
	return err
}

// Send emits a "message" event, like the reference's socket.send.
func (s *ClientSocket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitAck sends event and calls ack, on the dispatcher, with the server's
// acknowledgement or the error that ended the wait.
func (s *ClientSocket) EmitAck(event string, ack ClientAckHandler, args ...any) error {
	return ClientEmitter{s: s}.EmitAck(event, ack, args...)
}

// EmitWithAck sends event and waits for the server's acknowledgement, until
// ctx ends, the ack timeout (Timeout or AckTimeout) or the socket disconnects
// after sending it (ErrClientDisconnected). A timeout, or ctx's deadline, is
// ErrAckTimeout for errors.Is, as on the server. With Retries, the event stays
// queued for delivery when ctx ends.
func (s *ClientSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return ClientEmitter{s: s}.EmitWithAck(ctx, event, args...)
}

// Emit is ClientSocket.Emit with e's flags.
func (e ClientEmitter) Emit(event string, args ...any) error {
	_, err := e.s.emit(event, args, e.flags, nil, false)
	return err
}

// EmitAck is ClientSocket.EmitAck with e's flags.
func (e ClientEmitter) EmitAck(event string, ack ClientAckHandler, args ...any) error {
	if ack == nil {
		return e.Emit(event, args...)
	}
	s := e.s
	fn := func(a Args, err error) { s.dispatch(func() { ack(a, err) }) }
	_, err := s.emit(event, args, e.flags, fn, true)
	return err
}

type clientAckResult struct {
	args Args
	err  error
}

// EmitWithAck is ClientSocket.EmitWithAck with e's flags.
func (e ClientEmitter) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	ch := make(chan clientAckResult, 1)
	fn := func(a Args, err error) {
		select {
		case ch <- clientAckResult{a, err}:
		default:
		}
	}
	cancel, err := e.s.emit(event, args, e.flags, fn, true)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		cancel()
		return nil, ackWaitErr(ctx)
	}
}

// emit sends, buffers or queues one event. ack, when set, receives the
// acknowledgement (withError: and the errors that end the wait). It returns a
// function that forgets the ack.
func (s *ClientSocket) emit(event string, args []any, flags clientFlags, ack func(Args, error), withError bool) (func(), error) {
	if parser.IsReservedEvent(event) {
		return nil, fmt.Errorf("socketio: %q is a reserved event name", event)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClientClosed
	}
	if s.opts.Retries > 0 && !flags.volatile {
		if len(s.queue) >= s.opts.MaxBuffered {
			return nil, ErrClientBufferFull
		}
		// fail now on arguments that cannot be encoded, not at every try
		if _, err := s.m.encode(&parser.Packet{Type: parser.Event, Namespace: s.nsp, Event: event, Args: args, HasID: true}); err != nil {
			return nil, err
		}
		q := &clientQueued{event: event, args: args, timeout: flags.timeout, done: ack}
		s.queue = append(s.queue, q)
		s.drainLocked(false)
		return func() {
			s.mu.Lock()
			q.done = nil
			s.mu.Unlock()
		}, nil
	}
	return s.emitLocked(event, args, flags, ack, withError)
}

// emitLocked is emit without the queue. s.mu is held.
func (s *ClientSocket) emitLocked(event string, args []any, flags clientFlags, ack func(Args, error), withError bool) (func(), error) {
	if !s.connected && !flags.volatile && len(s.sendBuf) >= s.opts.MaxBuffered {
		return nil, ErrClientBufferFull
	}
	o := &clientOutgoing{event: event, args: args}
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp, Event: event, Args: args}
	if ack != nil {
		o.id = s.nextID
		o.hasID = true
		p.ID, p.HasID = o.id, true
	}
	// Encoded now, so that a bad argument fails the emit, and the bytes are
	// ready for a later flush.
	msgs, err := s.m.encode(p)
	if err != nil {
		return nil, err
	}
	o.msgs = msgs
	cancel := func() {}
	if ack != nil {
		s.nextID++
		timeout := flags.timeout
		if timeout <= 0 {
			timeout = s.opts.AckTimeout
		}
		s.registerAckLocked(o.id, ack, withError, timeout)
		id := o.id
		cancel = func() { s.forgetAck(id) }
	}
	switch {
	case s.connected:
		if err := s.sendLocked(o); err != nil {
			if s.conn != nil && s.conn.Context().Err() != nil && !flags.volatile && !flags.fromQueue {
				// The connection has just died: keep the event for the
				// next one, as if it had been emitted a moment later.
				s.sendBuf = append(s.sendBuf, o)
				return cancel, nil
			}
			if ack != nil {
				s.forgetAckLocked(o.id)
			}
			return nil, err
		}
		return cancel, nil
	case flags.volatile:
		// dropped; a pending ack ends with its timeout, as in the reference
		return cancel, nil
	default:
		s.sendBuf = append(s.sendBuf, o)
		return cancel, nil
	}
}

// sendLocked tells the outgoing catch-all handlers (once per event, before it
// leaves, like the reference) and writes o on the socket's connection. s.mu is
// held.
func (s *ClientSocket) sendLocked(o *clientOutgoing) error {
	if s.conn == nil {
		return ErrClientNotConnected
	}
	if !o.notified {
		o.notified = true
		s.hmu.Lock()
		anyOut := s.anyOut
		s.hmu.Unlock()
		if len(anyOut) > 0 {
			ev, args := o.event, o.args
			s.dispatch(func() {
				for _, h := range anyOut {
					h(ev, args)
				}
			})
		}
	}
	return s.conn.Send(o.msgs...)
}

func (s *ClientSocket) registerAckLocked(id uint64, fn func(Args, error), withError bool, timeout time.Duration) {
	a := &clientAck{fn: fn, withError: withError || timeout > 0}
	if timeout > 0 {
		a.timer = time.AfterFunc(timeout, func() { s.ackTimedOut(id, a) })
	}
	s.acks[id] = a
}

func (s *ClientSocket) ackTimedOut(id uint64, a *clientAck) {
	s.mu.Lock()
	if s.acks[id] != a {
		s.mu.Unlock()
		return
	}
	delete(s.acks, id)
	for i, o := range s.sendBuf {
		if o.hasID && o.id == id {
			s.sendBuf = append(s.sendBuf[:i], s.sendBuf[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	a.fn(nil, ErrClientAckTimeout)
}

func (s *ClientSocket) forgetAck(id uint64) {
	s.mu.Lock()
	s.forgetAckLocked(id)
	s.mu.Unlock()
}

func (s *ClientSocket) forgetAckLocked(id uint64) {
	if a := s.acks[id]; a != nil && a.timer != nil {
		a.timer.Stop()
	}
	delete(s.acks, id)
}

// drainLocked sends the head of the retry queue unless it is already in flight
// (force: resend it anyway, after a reconnection). s.mu is held.
func (s *ClientSocket) drainLocked(force bool) {
	if !s.connected || len(s.queue) == 0 {
		return
	}
	q := s.queue[0]
	if q.pending && !force {
		return
	}
	q.pending = true
	q.tries++
	fn := func(a Args, err error) { s.onQueueAck(q, a, err) }
	if _, err := s.emitLocked(q.event, q.args, clientFlags{timeout: q.timeout, fromQueue: true}, fn, false); err != nil {
		// The connection is gone; the next connection resends the head.
		q.pending = false
	}
}

// onQueueAck ends one try of the head of the retry queue.
func (s *ClientSocket) onQueueAck(q *clientQueued, a Args, err error) {
	s.mu.Lock()
	if len(s.queue) == 0 || s.queue[0] != q {
		s.mu.Unlock()
		return
	}
	var done func(Args, error)
	if err != nil {
		if q.tries > s.opts.Retries {
			s.queue[0] = nil
			s.queue = s.queue[1:]
			done = q.done
		}
	} else {
		s.queue[0] = nil
		s.queue = s.queue[1:]
		done = q.done
	}
	q.pending = false
	s.drainLocked(false)
	s.mu.Unlock()
	if done != nil {
		done(a, err)
	}
}
