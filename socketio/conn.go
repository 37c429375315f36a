package socketio

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/parser"
)

// dispatchQueueLen bounds the handler calls waiting on one connection's
// dispatcher; when it is full the session is paused (backpressure to
// Engine.IO: the connection is not read until half of them have run).
const dispatchQueueLen = 256

// session is what a conn uses of an Engine.IO session; *engineio.Session
// implements it (tests use an in-process one).
type session interface {
	ID() string
	Transport() string
	Handshake() *engineio.Handshake
	// Receive delivers the session's messages in order, then its end; the
	// callbacks must not block.
	Receive(onMessage func(engineio.Message), onClose func(error))
	// Pause holds back the delivery of messages until Resume.
	Pause()
	Resume()
	Send(msgs ...engineio.Message) error
	TrySend(msgs ...engineio.Message) bool
	Close() error
	Context() context.Context
}

var _ session = (*engineio.Session)(nil)

// conn is one Engine.IO connection and the namespace sockets multiplexed on it.
type conn struct {
	srv  *Server
	sess session
	dec  parser.Decoder

	// Handler calls run in order on a dispatcher goroutine that exists while
	// calls are queued and for one to two dispatchLinger after the last one: an idle
	// connection has none (nor a reader goroutine, in push mode).
	qmu      sync.Mutex
	q        []queued      // handler calls, run in order by dispatch; nil ends them
	qh       int           // q[qh:] are the calls not yet taken
	qrunning bool          // a dispatch goroutine is draining q (or lingering)
	qidle    bool          // the dispatch goroutine lingers on qwake for more calls
	qwake    chan struct{} // cap 1: wakes the lingering dispatcher; made by each one
	qtimer   *time.Timer   // the running dispatcher's linger timer
	qworked  bool          // the dispatcher took a call since its timer's last tick
	qexpired bool          // a tick found the dispatcher idle: it ends
	qdone    bool          // dispatch has seen nil
	qpaused  bool          // the session is paused until the queue drains to half
	onDone   func()        // run once dispatch has seen nil and run the rest

	// push mode: set by the session's callbacks, which never run concurrently
	stopped bool // the connection has ended; later messages are ignored

	mu      sync.Mutex
	sockets []nsSocket // one per namespace; a connection has few
	closed  bool
	timer   *time.Timer // connect timeout, until the first socket connects
}

// nsSocket is the socket of a connection in one namespace; s is nil while
// it is connecting.
type nsSocket struct {
	name string
	s    *Socket
}

// findLocked returns the index of namespace name in c.sockets, or -1; c.mu is held.
func (c *conn) findLocked(name string) int {
	for i := range c.sockets {
		if c.sockets[i].name == name {
			return i
		}
	}
	return -1
}

// socketsLocked returns the connected sockets; c.mu is held.
func (c *conn) socketsLocked() []*Socket {
	out := make([]*Socket, 0, len(c.sockets))
	for _, e := range c.sockets {
		if e.s != nil {
			out = append(out, e.s)
		}
	}
	return out
}

func newConn(srv *Server, sess session) *conn {
	c := &conn{
		srv:  srv,
		sess: sess,
		dec:  srv.opts.Parser.NewDecoder(),
	}
	c.mu.Lock()
	c.timer = time.AfterFunc(srv.opts.ConnectTimeout, c.connectTimeout)
	c.mu.Unlock()
	return c
}

func (c *conn) connectTimeout() {
	c.mu.Lock()
	joined := len(c.sockets) > 0
	c.mu.Unlock()
	if !joined {
		c.close(ReasonForcedServerClose)
	}
}

// queued is a handler call waiting on the dispatcher: a call (a function)
// or an *eventCall. Both are one pointer, so queueing one allocates nothing.
type queued interface{ run() }

// call is a function queued as a handler call.
type call func()

func (f call) run() { f() }

// qKeep is the capacity of q kept while the dispatcher is idle, so that a
// connection in a request/answer loop queues without allocating.
const qKeep = 4

// enqueue runs fn on the dispatcher goroutine, after the calls queued before
// it. It never blocks (internal calls: acks, disconnects) and returns false
// when the dispatcher has ended.
func (c *conn) enqueue(fn func()) bool { return c.enqueueCall(call(fn), false) }

// enqueueCall queues fn. The reader's calls (reader) pause the session
// once dispatchQueueLen calls are pending, so that a slow handler slows its
// own connection down instead of growing a buffer; the dispatcher resumes it
// when half of them have run. It returns false when the dispatcher has ended.
func (c *conn) enqueueCall(fn queued, reader bool) bool {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.qdone {
		return false
	}
	c.q = append(c.q, fn)
	if reader && !c.qpaused && len(c.q)-c.qh >= dispatchQueueLen {
		// Under qmu, so that a pause and the resume that ends it reach the
		// session in the order they were decided.
		c.qpaused = true
		c.sess.Pause()
	}
	c.startLocked()
	return true
}

// startLocked starts a dispatch goroutine unless one is draining q, and
// wakes it if it lingers; c.qmu is held.
func (c *conn) startLocked() {
	switch {
	case !c.qrunning:
		c.qrunning = true
		go c.dispatch()
	case c.qidle:
		c.qidle = false
		select {
		case c.qwake <- struct{}{}:
		default:
		}
	}
}

// dispatchLinger is about how long a dispatcher whose queue ran empty waits
// for the next call before it ends (between one and two of it). A connection
// in a request/answer loop thus keeps one dispatcher instead of starting a
// goroutine, and growing its stack, for every message; an idle connection
// still has none after this long.
const dispatchLinger = 100 * time.Millisecond

// lingerTick is a tick of a dispatcher's linger timer *tp: it ends an idle
// dispatcher that had no call since the previous tick, else it ticks again.
func (c *conn) lingerTick(tp **time.Timer) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	t := *tp
	if c.qtimer != t {
		return // that dispatcher has ended
	}
	if c.qworked || !c.qidle {
		c.qworked = false
		t.Reset(dispatchLinger)
		return
	}
	c.qexpired = true
	c.qidle = false
	select {
	case c.qwake <- struct{}{}:
	default:
	}
}

// enqueueEvent is enqueueCall for the reader.
func (c *conn) enqueueEvent(fn func()) bool { return c.enqueueCall(call(fn), true) }

// dispatch runs the queued handler calls in order and returns when q has
// stayed empty for a tick of its linger timer (the next enqueue starts a new
// one) or after it met nil.
func (c *conn) dispatch() {
	// The linger timer is not re-armed per call: it ticks every
	// dispatchLinger while the dispatcher runs, and the dispatcher ends at
	// the first tick that finds it idle and without work since the last one
	// (between one and two periods after its last call).
	var t *time.Timer
	c.qmu.Lock()
	// Set under qmu, where the tick reads it.
	t = time.AfterFunc(dispatchLinger, func() { c.lingerTick(&t) })
	c.qtimer = t
	if c.qwake == nil {
		c.qwake = make(chan struct{}, 1)
	}
	wake := c.qwake
	c.qmu.Unlock()
	defer func() {
		c.qmu.Lock()
		if c.qtimer == t {
			c.qtimer = nil
		}
		c.qmu.Unlock()
		t.Stop()
	}()
	for {
		c.qmu.Lock()
		c.qidle = false
		if c.qh == len(c.q) {
			if cap(c.q) <= qKeep {
				c.q = c.q[:0]
			} else {
				c.q = nil // no large buffer kept while idle
			}
			c.qh = 0
			if c.qexpired {
				c.qexpired = false
				c.qrunning = false
				c.qwake = nil // an idle connection keeps no channel
				c.qmu.Unlock()
				return
			}
			c.qidle = true
			c.qmu.Unlock()
			<-wake
			continue
		}
		c.qexpired = false
		c.qworked = true
		fn := c.q[c.qh]
		c.q[c.qh] = nil
		c.qh++
		var rest []queued
		if fn == nil {
			c.qdone = true
			rest, c.q, c.qh = c.q[c.qh:], nil, 0
		}
		if c.qpaused && (fn == nil || len(c.q)-c.qh <= dispatchQueueLen/2) {
			c.qpaused = false
			c.sess.Resume()
		}
		c.qmu.Unlock()
		if fn == nil {
			for _, f := range rest {
				if f != nil {
					c.run(f)
				}
			}
			if c.onDone != nil {
				c.onDone()
			}
			return
		}
		c.run(fn)
	}
}

// run calls a user handler. A panic is recovered, logged with its stack, and
// closes the connection: every socket of it leaves with ReasonHandlerPanic.
func (c *conn) run(fn queued) {
	defer func() {
		if r := recover(); r != nil {
			c.logPanic("socketio: panic in a handler; closing the connection", r)
			c.close(ReasonHandlerPanic)
		}
	}()
	fn.run()
}

// logPanic logs a recovered panic with its stack, rate-limited (a client
// that makes a handler panic can reconnect and do it again).
func (c *conn) logPanic(msg string, r any) {
	ok, dropped := c.srv.panicLog.Allow()
	if !ok {
		return
	}
	args := []any{"sid", c.sess.ID(), "panic", fmt.Sprint(r), "stack", string(debug.Stack())}
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	c.srv.log.Error(msg, args...)
}

// process decodes and routes one message; false (with the sockets' reason)
// when the connection must close. A panic while decoding is recovered and
// treated as a parse error, so bad input never takes the process down.
func (c *conn) process(m engineio.Message) (reason DisconnectReason, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.logPanic("socketio: panic while decoding a packet; closing the connection", r)
			c.reportError(fmt.Errorf("socketio: panic while decoding: %v", r))
			reason, ok = ReasonForcedClose, false
		}
	}()
	p, err := c.dec.Add(parser.Message(m))
	if err != nil {
		// As the reference: the sockets' error handlers see the error, and
		// they leave with "forced close".
		c.srv.log.Debug("socketio: bad packet; closing the connection", "sid", c.sess.ID(), "err", err)
		c.reportError(err)
		return ReasonForcedClose, false
	}
	if p == nil {
		return "", true
	}
	if !c.handlePacket(p) {
		return ReasonForcedServerClose, false
	}
	return "", true
}

// reportError passes err to the OnError handlers of every socket, on the
// dispatcher.
func (c *conn) reportError(err error) {
	c.mu.Lock()
	sockets := c.socketsLocked()
	c.mu.Unlock()
	// The handlers are looked up on the dispatcher, after the handlers queued
	// before (the connection handler that registers them, for a packet that
	// arrives right after CONNECT), as the reference's synchronous events do.
	for _, s := range sockets {
		c.enqueue(func() {
			for _, h := range s.hooksCopy().onErr {
				h(s, err)
			}
		})
	}
}

// disconnectReason maps the error of Session.Read to a socket's reason.
func disconnectReason(err error) DisconnectReason {
	var r engineio.Reason
	if errors.As(err, &r) {
		switch r {
		case engineio.ReasonServerClose:
			return ReasonServerShuttingDown
		case engineio.ReasonSlowConsumer:
			return ReasonSlowConsumer
		}
		return DisconnectReason(r)
	}
	return ReasonTransportError
}

// handlePacket routes one decoded packet. It returns false when the packet
// breaks the protocol and the connection must close, as the reference does.
func (c *conn) handlePacket(p *parser.Packet) bool {
	c.mu.Lock()
	var s *Socket
	i := c.findLocked(p.Namespace)
	if i >= 0 {
		s = c.sockets[i].s
	}
	if p.Type == parser.Connect {
		if i >= 0 {
			c.mu.Unlock()
			return false // a second CONNECT for a joined namespace
		}
		c.sockets = append(c.sockets, nsSocket{name: p.Namespace}) // connecting
		c.mu.Unlock()
		name, auth := p.Namespace, p.Data
		return c.enqueueEvent(func() { c.connect(name, auth) })
	}
	c.mu.Unlock()
	if s == nil || p.Type == parser.ConnectError {
		return false // not joined (or still connecting), or a server-only packet
	}
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		c.enqueueCall(&eventCall{s: s, p: p}, true)
	case parser.Ack, parser.BinaryAck:
		s.onAck(p)
	case parser.Disconnect:
		// The namespace is free for a new CONNECT at once; the socket leaves
		// on the dispatcher, after the events received before the DISCONNECT.
		c.detach(s)
		c.enqueueEvent(func() { s.onClose(ReasonClientNamespaceDisconnect) })
	}
	return true
}

// connect joins the namespace name on the dispatcher goroutine.
func (c *conn) connect(name string, authData any) {
	auth, _ := authData.(parser.Value)
	n := c.srv.lookupNamespace(name, auth)
	if n == nil {
		c.forget(name)
		c.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: name,
			Data: map[string]any{"message": "Invalid namespace"}}, false)
		return
	}
	n.add(c, auth)
}

// forget drops a namespace entry that never became a socket.
func (c *conn) forget(name string) {
	c.mu.Lock()
	if i := c.findLocked(name); i >= 0 && c.sockets[i].s == nil {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// attach records the connected socket; false when the connection closed meanwhile.
func (c *conn) attach(s *Socket) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.findLocked(s.nsp.name)
	if c.closed {
		if i >= 0 {
			c.sockets = slices.Delete(c.sockets, i, i+1)
		}
		return false
	}
	if i >= 0 {
		c.sockets[i].s = s
	} else {
		c.sockets = append(c.sockets, nsSocket{name: s.nsp.name, s: s})
	}
	// As the reference, the connect timeout ends with the first socket.
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	return true
}

func (c *conn) detach(s *Socket) {
	c.mu.Lock()
	if i := c.findLocked(s.nsp.name); i >= 0 && c.sockets[i].s == s {
		c.sockets = slices.Delete(c.sockets, i, i+1)
	}
	c.mu.Unlock()
}

// disconnectAll sends DISCONNECT for every socket, disconnects them with
// ReasonServerNamespaceDisconnect and closes the session.
func (c *conn) disconnectAll() {
	c.mu.Lock()
	sockets := c.socketsLocked()
	c.mu.Unlock()
	for _, s := range sockets {
		s.disconnect()
	}
	c.close(ReasonServerNamespaceDisconnect)
}

// close closes the Engine.IO session and disconnects every socket with reason.
func (c *conn) close(reason DisconnectReason) {
	c.closeAll(reason)
	_ = c.sess.Close()
}

// closeAll disconnects every socket with reason and closes the session.
func (c *conn) closeAll(reason DisconnectReason) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	sockets := c.socketsLocked()
	c.mu.Unlock()
	for _, s := range sockets {
		s.onClose(reason)
	}
	_ = c.sess.Close()
}

// sendPacket encodes p and queues it on the session.
func (c *conn) sendPacket(p *parser.Packet, volatile bool) error {
	msgs, err := c.srv.opts.Parser.Encode(p)
	if err != nil {
		return err
	}
	return c.send(msgs, volatile)
}

// send queues encoded messages. Over the session's queue limit, a volatile
// packet is dropped and any other closes the connection (ReasonSlowConsumer).
func (c *conn) send(msgs []parser.Message, volatile bool) error {
	em := toEngine(msgs)
	if volatile {
		if !c.sess.TrySend(em...) {
			return errDropped
		}
		return nil
	}
	return c.sess.Send(em...)
}

var errDropped = errors.New("socketio: volatile packet dropped")

// toEngine reinterprets parser messages as Engine.IO messages without copying:
// the two types have the same layout (checked by a test), so a broadcast hands
// the same slice to every session.
func toEngine(msgs []parser.Message) []engineio.Message {
	if len(msgs) == 0 {
		return nil
	}
	return unsafe.Slice((*engineio.Message)(unsafe.Pointer(&msgs[0])), len(msgs))
}

var _ = context.Background
