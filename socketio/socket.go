package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// Handshake is what the client sent when it connected: headers, query, auth
// payload, address, time, URL, and whether the connection was secure or
// cross-origin. Issued() gives the time in milliseconds.
type Handshake = adapter.Handshake

// EventHandler handles one event. args are the received arguments (decode them
// with args.Decode); ack is nil unless the client asked for an
// acknowledgement. It runs on the connection's dispatcher goroutine.
type EventHandler func(s *Socket, args Args, ack AckFunc)

// AnyHandler sees every incoming event before its handler (OnAny).
type AnyHandler func(s *Socket, event string, args Args)

// AnyOutgoingHandler sees every event sent to the socket (OnAnyOutgoing): its
// own emits and the broadcasts of this server that target it; args are the Go
// values passed to Emit. It runs synchronously on the emitting goroutine.
// Broadcasts that come from other servers of a cluster are not reported.
type AnyOutgoingHandler func(s *Socket, event string, args []any)

// PacketMiddleware runs for every incoming event before the handlers (Socket.Use).
// A non-nil error drops the event and is passed to the socket's OnError handlers.
type PacketMiddleware func(s *Socket, event string, args Args) error

// DisconnectHandler is called once when the socket leaves its namespace.
// OnDisconnecting handlers run while the socket is still in its rooms,
// OnDisconnect handlers after it left them. Both run on the dispatcher goroutine.
type DisconnectHandler func(s *Socket, reason DisconnectReason)

// ErrorHandler receives the errors of the socket's packet middleware, and the
// decoding error that closes its connection (as the reference's "error" event).
type ErrorHandler func(s *Socket, err error)

// Errors of emits with acknowledgement.
var (
	// ErrAckTimeout: the peer did not answer in time (the reference's
	// "operation has timed out"). The client's acknowledgements end with the
	// same error (ErrClientAckTimeout is this value).
	ErrAckTimeout = errors.New("socketio: operation has timed out")
	// ErrDisconnected: the socket is not connected.
	ErrDisconnected = errors.New("socketio: socket is disconnected")
)

// Socket is a client's connection to one namespace. Its methods are safe for
// concurrent use.
type Socket struct {
	id        string
	nsp       *Namespace
	conn      *conn
	handshake *Handshake

	connected atomic.Bool
	closed    atomic.Bool
	left      atomic.Bool // left its rooms (Join refused)
	// leaveMu orders the socket's room changes against its leaving for good
	// (leaveAll, leaveAndPersist, a recovery of its session elsewhere): once
	// it left, it never changes the rooms of its id again, which a recovered
	// socket of the same id may own by then.
	leaveMu sync.Mutex
	// replying is set, locked, while the socket is a broadcast target whose
	// CONNECT reply is not yet queued: a delivery waits for it (deliver).
	replying atomic.Pointer[sync.Mutex]

	// Connection state recovery (recovery.go); set before the socket is shared.
	pid       string // private session id ("" when recovery is off)
	recovered bool

	mu       sync.Mutex
	handlers []eventHandler // by event name, in the order first set
	hooks    *socketHooks   // nil until a hook is added
	watching bool           // counted in nsp.outWatchers
	acks     map[uint64]*pendingAck
	data     any
	// The context is made on first use (Context, EmitWithAck); reason is
	// set when the socket closes and cancels it.
	ctx    context.Context
	cancel context.CancelCauseFunc
	reason DisconnectReason
}

// eventHandler is the handler of one event. A socket has few, so they are
// kept in a slice, searched in order, rather than in a map.
type eventHandler struct {
	event string
	h     EventHandler
}

// socketHooks are the handler lists of a socket, apart from its event
// handlers: most sockets have none, so they live behind one pointer. Each
// list is copy-on-write (cowAppend), so a copy taken under Socket.mu stays
// valid after it is released.
type socketHooks struct {
	anyIn           []AnyHandler
	anyOut          []AnyOutgoingHandler
	mws             []PacketMiddleware
	onErr           []ErrorHandler
	onDisconnecting []DisconnectHandler
	onDisconnect    []DisconnectHandler
}

// hooksLocked returns the socket's hooks, made on first use; s.mu is held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = &socketHooks{}
	}
	return s.hooks
}

// hooksCopy returns a copy of the socket's hooks (zero when there are none).
func (s *Socket) hooksCopy() socketHooks {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return socketHooks{}
	}
	return *s.hooks
}

// anyOutHandlers returns the socket's OnAnyOutgoing handlers.
func (s *Socket) anyOutHandlers() []AnyOutgoingHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	return s.hooks.anyOut
}

// handlerLocked returns the handler of event, or nil; s.mu is held.
func (s *Socket) handlerLocked(event string) EventHandler {
	for i := range s.handlers {
		if s.handlers[i].event == event {
			return s.handlers[i].h
		}
	}
	return nil
}

type pendingAck struct {
	ch    chan Args         // EmitWithAck waiter (buffered 1), or nil
	fn    func(Args, error) // callback, run on the dispatcher, or nil
	raw   func([]any)       // broadcast collector, run on the reader, or nil
	timer *time.Timer
	stop  func() bool // unregisters an AfterFunc
}

func newSocket(n *Namespace, c *conn, auth parser.Value) *Socket {
	// handlers and acks are made on first use: most sockets of a large
	// server have few handlers and no acks pending.
	s := &Socket{id: newID(), nsp: n, conn: c}
	h := c.sess.Handshake()
	s.handshake = &Handshake{
		Headers: h.Header,
		Time:    h.Time,
		Address: h.RemoteIP,
		XDomain: h.Header.Get("Origin") != "",
		Secure:  h.Secure,
		URL:     h.RequestURI,
		Query:   h.Query,
	}
	if auth != nil {
		s.handshake.Auth = auth
	}
	return s
}

// newID returns 20 characters of base64url: 15 random bytes, like the reference.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ID returns the socket id (20 characters, unique and unpredictable). The
// socket is in the room of that name.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the client's connection.
func (s *Socket) Handshake() *Handshake { return s.handshake }

// EngineID returns the id of the underlying Engine.IO session.
func (s *Socket) EngineID() string { return s.conn.sess.ID() }

// Transport returns the current Engine.IO transport ("polling" or "websocket").
func (s *Socket) Transport() string { return s.conn.sess.Transport() }

// Context is cancelled when the socket disconnects; context.Cause gives the
// DisconnectReason.
func (s *Socket) Context() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancelCause(context.Background())
		if s.reason != "" {
			s.cancel(s.reason)
		}
	}
	return s.ctx
}

// deliver sends a broadcast's encoded messages to the socket, behind its
// CONNECT reply when that is being queued.
func (s *Socket) deliver(msgs []parser.Message, volatile bool) error {
	if mu := s.replying.Load(); mu != nil {
		mu.Lock()
		mu.Unlock() //lint:ignore SA2001 it only waited for the reply
	}
	return s.conn.send(msgs, volatile)
}

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() && !s.closed.Load() }

// Data returns the user data set with SetData.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData sets the user data (carried by FetchSockets across a cluster, so
// prefer values that survive JSON/msgpack).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
}

// On sets the handler of event (replacing any earlier one).
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].event == event {
			// A new slice: onEvent may hold the old one.
			s.handlers = slices.Clone(s.handlers)
			s.handlers[i].h = h
			return
		}
	}
	s.handlers = cowAppend(s.handlers, eventHandler{event, h})
}

// Off removes the handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	s.handlers = slices.DeleteFunc(slices.Clone(s.handlers), func(e eventHandler) bool { return e.event == event })
	s.mu.Unlock()
}

// OnAny adds a handler that sees every incoming event.
func (s *Socket) OnAny(h AnyHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.anyIn = cowAppend(hk.anyIn, h)
	s.mu.Unlock()
}

// OnAnyOutgoing adds a handler that sees every event the socket emits.
func (s *Socket) OnAnyOutgoing(h AnyOutgoingHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	if len(hk.anyOut) == 0 && !s.closed.Load() {
		s.nsp.outWatchers.Add(1)
		s.watching = true
	}
	hk.anyOut = cowAppend(hk.anyOut, h)
	s.mu.Unlock()
}

// Use adds a packet middleware.
func (s *Socket) Use(m PacketMiddleware) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.mws = cowAppend(hk.mws, m)
	s.mu.Unlock()
}

// OnError adds a handler for the errors of packet middleware.
func (s *Socket) OnError(h ErrorHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onErr = cowAppend(hk.onErr, h)
	s.mu.Unlock()
}

// OnDisconnecting adds a handler run at disconnect while the socket is still
// in its rooms.
func (s *Socket) OnDisconnecting(h DisconnectHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onDisconnecting = cowAppend(hk.onDisconnecting, h)
	s.mu.Unlock()
}

// OnDisconnect adds a handler run once the socket has left its namespace.
func (s *Socket) OnDisconnect(h DisconnectHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onDisconnect = cowAppend(hk.onDisconnect, h)
	s.mu.Unlock()
}

// Join adds the socket to rooms. It returns ErrDisconnected once the socket
// has left its rooms at disconnect.
func (s *Socket) Join(rooms ...string) error {
	if s.left.Load() {
		return ErrDisconnected
	}
	s.leaveMu.Lock()
	defer s.leaveMu.Unlock()
	if s.left.Load() {
		return ErrDisconnected
	}
	if max := s.nsp.srv.opts.MaxRoomsPerSocket; max > 0 && s.overRooms(max, rooms) {
		return ErrTooManyRooms
	}
	return s.nsp.adapter.AddAll(context.Background(), s.id, rooms)
}

// ErrTooManyRooms is returned by Join when the socket would be in more than
// ServerOptions.MaxRoomsPerSocket rooms.
var ErrTooManyRooms = errors.New("socketio: too many rooms")

// overRooms reports whether joining rooms would put the socket in more than
// max rooms, its own room not counted. (Not atomic with a concurrent Join of
// the same socket; the handlers of one connection run one at a time.)
func (s *Socket) overRooms(max int, rooms []string) bool {
	if rc, ok := s.nsp.adapter.(adapter.RoomCounter); ok {
		return rc.SocketRoomCount(s.id, rooms) > max
	}
	// Without a RoomCounter: O(rooms the socket is in + rooms joined).
	in := s.nsp.adapter.SocketRooms(s.id)
	set := make(map[string]struct{}, len(in)+len(rooms))
	for _, r := range in {
		set[r] = struct{}{}
	}
	set[s.id] = struct{}{}
	n := len(set) - 1
	for _, r := range rooms {
		if _, ok := set[r]; !ok {
			set[r] = struct{}{}
			n++
		}
	}
	return n > max
}

// leaveAll removes the socket from every room, for good (once).
func (s *Socket) leaveAll() {
	s.leaveMu.Lock()
	defer s.leaveMu.Unlock()
	s.leaveAllLocked()
}

// leaveAllLocked is leaveAll with s.leaveMu held. It reports whether the
// socket was still in its rooms.
func (s *Socket) leaveAllLocked() bool {
	if s.left.Swap(true) {
		return false
	}
	s.nsp.adapterFailed("leaving the rooms", s.nsp.adapter.DelAll(context.Background(), s.id))
	s.nsp.forgetPID(s)
	return true
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) error {
	s.leaveMu.Lock()
	defer s.leaveMu.Unlock()
	if s.left.Load() {
		return nil // left every room already
	}
	return s.nsp.adapter.Del(context.Background(), s.id, room)
}

// Rooms returns the rooms the socket is in (its own id included).
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// Emit sends an event to the client. []byte values at any depth travel as
// binary attachments. The packet is queued; Emit does not wait for the network.
//
// With connection state recovery on (and an adapter that keeps sessions,
// adapter.SessionStore), the packet goes through the adapter as a
// broadcast to the socket's own room, as the reference does: it gets an
// offset and is kept for the window, so an emit to a socket whose client is
// away (even on the Socket of the dropped connection) reaches the client
// when it recovers; Emit then does not return ErrDisconnected.
func (s *Socket) Emit(event string, args ...any) error {
	if s.nsp.store() != nil {
		return s.emitStored(event, args)
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args}
	s.notifyOutgoing(event, args)
	return s.conn.sendPacket(p, false)
}

// Send emits a "message" event, like socket.send of the reference.
func (s *Socket) Send(args ...any) error { return s.Emit("message", args...) }

// EmitVolatile is Emit for a packet that is dropped instead of queued when
// the socket's send queue is full.
func (s *Socket) EmitVolatile(event string, args ...any) error {
	if !s.Connected() {
		return ErrDisconnected
	}
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args}
	s.notifyOutgoing(event, args)
	return s.conn.sendPacket(p, true)
}

func (s *Socket) notifyOutgoing(event string, args []any) {
	for _, h := range s.anyOutHandlers() {
		h(s, event, args)
	}
}

// EmitWithAck sends an event and waits for the client's acknowledgement until
// ctx ends (at its deadline, an error that is both ErrAckTimeout and
// context.DeadlineExceeded for errors.Is) or the socket
// disconnects (ErrDisconnected). It may be called from a handler: answers are
// read by the connection's reader, not its dispatcher.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	if !s.Connected() {
		return nil, ErrDisconnected
	}
	id := s.nsp.ids.Add(1) - 1
	pa := &pendingAck{ch: make(chan Args, 1)}
	s.mu.Lock()
	s.addAckLocked(id, pa)
	s.mu.Unlock()
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args, ID: id, HasID: true}
	s.notifyOutgoing(event, args)
	if err := s.conn.sendPacket(p, false); err != nil {
		s.dropAck(id)
		return nil, err
	}
	select {
	case a := <-pa.ch:
		return a, nil
	case <-ctx.Done():
		s.dropAck(id)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			s.nsp.observeAckTimeout()
		}
		return nil, ackWaitErr(ctx)
	case <-s.Context().Done():
		s.dropAck(id)
		select {
		case a := <-pa.ch:
			return a, nil
		default:
		}
		return nil, ErrDisconnected
	}
}

// EmitWithCallback sends an event and calls cb with the client's answer, or
// with ErrAckTimeout after timeout (0: no timeout), or ErrDisconnected. cb runs
// on the connection's dispatcher goroutine.
func (s *Socket) EmitWithCallback(event string, timeout time.Duration, cb func(args Args, err error), args ...any) error {
	if !s.Connected() {
		return ErrDisconnected
	}
	id := s.nsp.ids.Add(1) - 1
	pa := &pendingAck{fn: cb}
	s.mu.Lock()
	s.addAckLocked(id, pa)
	if timeout > 0 {
		pa.timer = time.AfterFunc(timeout, func() {
			if s.takeAck(id) != nil {
				s.nsp.observeAckTimeout()
				s.conn.enqueue(func() { cb(nil, ErrAckTimeout) })
			}
		})
	}
	s.mu.Unlock()
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args, ID: id, HasID: true}
	s.notifyOutgoing(event, args)
	if err := s.conn.sendPacket(p, false); err != nil {
		s.dropAck(id)
		return err
	}
	return nil
}

// registerRawAck registers a broadcast collector for ack id until ctx ends.
func (s *Socket) registerRawAck(ctx context.Context, id uint64, fn func([]any)) {
	pa := &pendingAck{raw: fn}
	s.mu.Lock()
	s.addAckLocked(id, pa)
	pa.stop = context.AfterFunc(ctx, func() { s.dropAck(id) })
	s.mu.Unlock()
}

// addAckLocked records a pending ack; s.mu is held.
func (s *Socket) addAckLocked(id uint64, pa *pendingAck) {
	if s.acks == nil {
		s.acks = make(map[uint64]*pendingAck)
	}
	s.acks[id] = pa
}

func (s *Socket) takeAck(id uint64) *pendingAck {
	s.mu.Lock()
	pa := s.acks[id]
	delete(s.acks, id)
	s.mu.Unlock()
	if pa != nil {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		if pa.stop != nil {
			pa.stop()
		}
	}
	return pa
}

func (s *Socket) dropAck(id uint64) { s.takeAck(id) }

// onAck runs on the reader (the session's message callback). An answer for an unknown id (after its
// timeout or for nothing asked) is ignored.
func (s *Socket) onAck(p *parser.Packet) {
	pa := s.takeAck(p.ID)
	if pa == nil || !p.HasID {
		return
	}
	args := Args(p.Args)
	switch {
	case pa.ch != nil:
		pa.ch <- args
	case pa.raw != nil:
		pa.raw(p.Args)
	case pa.fn != nil:
		s.conn.enqueue(func() { pa.fn(args, nil) })
	}
}

// eventCall is one received event queued for its handler. With an ack id it
// also holds the acknowledgement's state and packet: an acknowledged event
// costs this and the AckFunc, nothing more.
type eventCall struct {
	s    *Socket
	p    *parser.Packet // the event, until its handlers run
	sent atomic.Bool    // the AckFunc was called
	ack  parser.Packet  // the ACK packet: ID set before the handlers run, the rest by the AckFunc
}

func (e *eventCall) run() { e.s.onEvent(e) }

// onEvent runs on the dispatcher goroutine.
func (s *Socket) onEvent(e *eventCall) {
	if !s.Connected() {
		return
	}
	p := e.p
	e.p = nil // a kept AckFunc must not keep the received packet alive
	args := Args(p.Args)
	var ack AckFunc
	if p.HasID {
		e.ack.ID = p.ID
		ack = e.answer
	}
	s.mu.Lock()
	h := s.handlerLocked(p.Event)
	var anyIn []AnyHandler
	var mws []PacketMiddleware
	if s.hooks != nil {
		anyIn, mws = s.hooks.anyIn, s.hooks.mws
	}
	s.mu.Unlock()
	for _, a := range anyIn {
		a(s, p.Event, args)
	}
	for _, m := range mws {
		if err := m(s, p.Event, args); err != nil {
			for _, eh := range s.hooksCopy().onErr {
				eh(s, err)
			}
			return
		}
	}
	if h != nil && s.Connected() {
		h(s, args, ack)
	}
}

// ErrAckSent is returned by an AckFunc called a second time.
var ErrAckSent = errors.New("socketio: acknowledgement already sent")

// answer is the AckFunc of an event with an ack id.
func (e *eventCall) answer(args ...any) error {
	if !e.sent.CompareAndSwap(false, true) {
		return ErrAckSent
	}
	s := e.s
	if s.closed.Load() {
		return ErrDisconnected
	}
	e.ack = parser.Packet{Type: parser.Ack, Namespace: s.nsp.name, ID: e.ack.ID, HasID: true, Args: args}
	err := s.conn.sendPacket(&e.ack, false)
	e.ack.Args = nil // encoded: the arguments need not stay alive with the AckFunc
	return err
}

// Disconnect makes the socket leave its namespace (reason "server namespace
// disconnect"; the client sees "io server disconnect" and does not reconnect).
// With close, every socket of the same Engine.IO connection is disconnected
// the same way and the connection is closed, as the reference does.
func (s *Socket) Disconnect(close bool) {
	if close {
		s.conn.disconnectAll()
		return
	}
	s.disconnect()
}

func (s *Socket) disconnect() {
	if !s.closed.Load() {
		_ = s.conn.sendPacket(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name}, false)
	}
	s.onClose(ReasonServerNamespaceDisconnect)
}

// CloseConn closes the underlying Engine.IO connection without DISCONNECT
// packets, like socket.conn.close() of the reference: every socket of the
// connection leaves with ReasonForcedClose, and the client sees a transport
// close and reconnects.
func (s *Socket) CloseConn() { s.conn.close(ReasonForcedClose) }

// onClose disconnects the socket once: it cancels the Context, fails pending
// acks, and queues the disconnect handlers; rooms are left after the
// OnDisconnecting handlers ran.
func (s *Socket) onClose(reason DisconnectReason) {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	s.reason = reason
	if s.cancel != nil {
		s.cancel(reason)
	}
	s.mu.Unlock()
	s.conn.detach(s)
	s.nsp.remove(s)
	s.mu.Lock()
	acks := s.acks
	s.acks = nil
	if s.watching {
		s.watching = false
		s.nsp.outWatchers.Add(-1)
	}
	s.mu.Unlock()
	for _, pa := range acks {
		if pa.timer != nil {
			pa.timer.Stop()
		}
		if pa.stop != nil {
			pa.stop()
		}
		if pa.fn != nil {
			fn := pa.fn
			s.conn.enqueue(func() { fn(nil, ErrDisconnected) })
		}
	}
	if !s.connected.Load() {
		s.leaveAll()
		return
	}
	if obs := s.nsp.srv.opts.Observer; obs != nil {
		obs.Disconnected(s.nsp.name, reason)
	}
	finish := func() {
		hk := s.hooksCopy()
		ding, dis := hk.onDisconnecting, hk.onDisconnect
		func() {
			defer s.leaveAndPersist(reason)
			for _, h := range ding {
				h(s, reason)
			}
		}()
		for _, h := range dis {
			h(s, reason)
		}
	}
	if !s.conn.enqueue(finish) {
		s.leaveAndPersist(reason)
	}
}
