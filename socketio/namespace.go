package socketio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/lograte"
	"github.com/corvid-io/corvid/parser"
)

// Middleware runs when a client connects to a namespace, before the socket is
// connected (s.Connected() is false and emits are not sent yet). It sees the
// handshake and the auth payload (s.Handshake().Auth). A non-nil error refuses
// the connection: the client gets CONNECT_ERROR with {message, data} (return a
// *ConnectError to set data; any other error's text becomes the message).
// Middleware runs on the connection's dispatcher goroutine, in the order added.
type Middleware func(s *Socket) error

// ConnectionHandler is called on the dispatcher goroutine when a socket has
// joined a namespace (after the CONNECT reply was queued).
type ConnectionHandler func(s *Socket)

// ServerSideEmitHandler receives the arguments of an event another server of
// the cluster sent with ServerSideEmit (the event name is the one it was
// registered for, see Namespace.OnServerSideEmit). ack is nil when the sender
// expects no answer; calling it answers ServerSideEmitWithAck. It runs on the
// adapter's goroutine.
type ServerSideEmitHandler func(args Args, ack func(arg any))

// Namespace is a Socket.IO namespace: a set of sockets with its own
// middleware, handlers, rooms and adapter.
type Namespace struct {
	srv     *Server
	name    string
	parent  *ParentNamespace
	adapter adapter.Adapter
	ids     atomic.Uint64 // ack ids

	outWatchers atomic.Int32 // sockets with OnAnyOutgoing handlers

	// fence orders stored broadcasts (read side) against the recovery of a
	// socket (write side); see joinRecovered.
	fence sync.RWMutex

	mu          sync.RWMutex
	sockets     map[string]*Socket
	pids        map[string]*Socket // with recovery: by private id, until it left its rooms
	middlewares []Middleware
	onConnect   []ConnectionHandler
	onSSE       []sseHandler
}

type sseHandler struct {
	event string
	h     ServerSideEmitHandler
}

// newNamespace makes a namespace and its adapter. The adapter factory's error
// is returned as an *AdapterError: the namespace does not exist then (there is
// no silent fallback to another adapter).
func newNamespace(srv *Server, name string, parent *ParentNamespace) (*Namespace, error) {
	n := &Namespace{srv: srv, name: name, parent: parent, sockets: make(map[string]*Socket)}
	a, err := srv.opts.Adapter(adapterView{n})
	if err != nil {
		return nil, &AdapterError{Namespace: name, Err: err}
	}
	if a == nil {
		return nil, &AdapterError{Namespace: name, Err: errors.New("the factory returned no adapter")}
	}
	n.adapter = a
	return n, nil
}

// AdapterError is the error of a namespace whose adapter could not be made:
// ServerOptions.Adapter failed (a Redis server that does not answer, ...).
type AdapterError struct {
	Namespace string
	Err       error
}

func (e *AdapterError) Error() string {
	return "socketio: namespace " + e.Namespace + ": adapter: " + e.Err.Error()
}

func (e *AdapterError) Unwrap() error { return e.Err }

// Name returns the namespace name ("/", "/admin", ...).
func (n *Namespace) Name() string { return n.name }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() adapter.Adapter { return n.adapter }

// Server returns the server of the namespace.
func (n *Namespace) Server() *Server { return n.srv }

// Use adds a connect middleware.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middlewares = cowAppend(n.middlewares, m)
	n.mu.Unlock()
}

// OnConnection adds a handler called for every socket that connects.
func (n *Namespace) OnConnection(h ConnectionHandler) {
	n.mu.Lock()
	n.onConnect = cowAppend(n.onConnect, h)
	n.mu.Unlock()
}

// OnServerSideEmit adds a handler for event when another server of the
// cluster sends it with ServerSideEmit (the reference's
// io.of(name).on(event, ...)). An event may have several handlers; they run
// in the order added.
func (n *Namespace) OnServerSideEmit(event string, h ServerSideEmitHandler) {
	n.mu.Lock()
	n.onSSE = cowAppend(n.onSSE, sseHandler{event, h})
	n.mu.Unlock()
}

// Socket returns the connected local socket id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// Sockets returns the connected local sockets.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// add runs the middleware for a new socket of c and connects it.
func (n *Namespace) add(c *conn, auth parser.Value) {
	s := newSocket(n, c, auth)
	prev := n.restore(s, auth)
	var mws []Middleware
	if prev == nil || !n.skipMiddlewares() {
		if n.parent != nil {
			mws = append(mws, n.parent.middlewares()...)
		}
		n.mu.RLock()
		mws = append(mws, n.middlewares...)
		n.mu.RUnlock()
	}
	for _, m := range mws {
		if err := m(s); err != nil {
			c.forget(n.name)
			ce := &ConnectError{}
			if !errors.As(err, &ce) {
				ce = &ConnectError{Message: err.Error()}
			}
			// the struct keeps the reference's key order: message, then data
			_ = c.sendPacket(&parser.Packet{Type: parser.ConnectError, Namespace: n.name,
				Data: &ConnectError{Message: ce.Message, Data: ce.Data}}, false)
			n.srv.maybeCleanup(n)
			return
		}
	}
	if !c.attach(s) {
		return
	}
	s.connected.Store(true)
	if obs := n.srv.opts.Observer; obs != nil {
		obs.Connected(n.name)
	}
	if prev != nil {
		if err := n.joinRecovered(s, prev); err != nil {
			s.onClose(ReasonTransportError)
			return
		}
	} else {
		// As the reference, the socket is in its own room before the client
		// learns its id from the CONNECT reply, so that an emit to it right
		// after the client connected reaches it. A broadcast that reaches it
		// before the reply is queued waits for the reply (deliver): the
		// client never gets an event of the namespace first.
		var replying sync.Mutex
		replying.Lock()
		s.replying.Store(&replying)
		n.mu.Lock()
		n.sockets[s.id] = s
		n.trackPIDLocked(s)
		n.mu.Unlock()
		n.adapterFailed("joining the socket's own room", n.adapter.AddAll(context.Background(), s.id, []string{s.id}))
		// Without recovery the reply is exactly {"sid":...}, as the reference's.
		err := c.sendPacket(&parser.Packet{Type: parser.Connect, Namespace: n.name,
			Data: &connectReply{SID: s.id, PID: s.pid}}, false)
		s.replying.Store(nil)
		replying.Unlock()
		if err != nil {
			s.onClose(ReasonTransportError)
			return
		}
	}
	if s.closed.Load() { // closed meanwhile: undo
		n.remove(s)
		s.dropRooms()
		return
	}
	var hs []ConnectionHandler
	if n.parent != nil {
		hs = append(hs, n.parent.connectionHandlers()...)
	}
	n.mu.RLock()
	hs = append(hs, n.onConnect...)
	n.mu.RUnlock()
	for _, h := range hs {
		h(s)
	}
}

// remove forgets a disconnected socket (its rooms are dropped by the caller).
func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	n.mu.Unlock()
	n.srv.maybeCleanup(n)
}

func (s *Server) maybeCleanup(n *Namespace) {
	if n.parent == nil || !s.opts.CleanupEmptyChildNamespaces {
		return
	}
	n.mu.RLock()
	empty := len(n.sockets) == 0
	n.mu.RUnlock()
	if empty {
		s.removeNamespace(n)
	}
}

func (n *Namespace) op() BroadcastOperator { return BroadcastOperator{targets: []*Namespace{n}} }

// To returns an operator that targets the sockets in room (and in the rooms of
// later To calls).
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.op().To(rooms...) }

// In is To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.To(rooms...) }

// Except returns an operator that skips the sockets in rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator { return n.op().Except(rooms...) }

// Volatile returns an operator whose packets may be dropped (see BroadcastOperator.Volatile).
func (n *Namespace) Volatile() BroadcastOperator { return n.op().Volatile() }

// Local returns an operator that targets this server's sockets only.
func (n *Namespace) Local() BroadcastOperator { return n.op().Local() }

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(event string, args ...any) error { return n.op().Emit(event, args...) }

// EmitWithAck sends an event to every socket and collects their answers.
func (n *Namespace) EmitWithAck(ctx context.Context, event string, args ...any) (*BroadcastAcks, error) {
	return n.op().EmitWithAck(ctx, event, args...)
}

// FetchSockets returns every socket of the namespace, in the whole cluster.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.op().FetchSockets(ctx)
}

// SocketsJoin makes every socket join rooms.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return n.op().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket leave rooms.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return n.op().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket (closing their connections when close is true).
func (n *Namespace) DisconnectSockets(ctx context.Context, close bool) error {
	return n.op().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to this namespace on the other servers of the
// cluster (see OnServerSideEmit).
func (n *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return n.observeAdapter("serverSideEmit", n.adapter.ServerSideEmit(ctx, append([]any{event}, args...)))
}

// ServerSideEmitWithAck does the same and waits for one answer per other
// server (until ctx ends or the adapter's request timeout): Args holds one
// answer per server that answered (decode them with Decode); on a timeout,
// the answers that came and the adapter's error.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	answers, err := n.adapter.ServerSideEmitWithAck(ctx, append([]any{event}, args...))
	return Args(answers), err
}

// adapterView is the adapter.Namespace of a Namespace.
type adapterView struct{ n *Namespace }

var _ adapter.Namespace = adapterView{}

func (v adapterView) Name() string { return v.n.name }

func (v adapterView) Encode(p *parser.Packet) ([]parser.Message, error) {
	return v.n.srv.opts.Parser.Encode(p)
}

func (v adapterView) Deliver(id string, msgs []parser.Message, flags *adapter.Flags) bool {
	s := v.n.Socket(id)
	if s == nil {
		return false
	}
	return s.deliver(msgs, flags.Volatile) == nil
}

// socketsPool holds the slices DeliverBatch collects its sockets in.
var socketsPool = sync.Pool{New: func() any { s := make([]*Socket, 0, 64); return &s }}

// maxPooledSockets bounds the capacity of a slice put back in socketsPool.
const maxPooledSockets = 1 << 16

// DeliverBatch is Deliver for every id (the adapter's batch delivery): the
// sockets are looked up under one read lock, then the messages are queued on
// each outside it.
func (v adapterView) DeliverBatch(ids []string, msgs []parser.Message, flags *adapter.Flags) {
	p := socketsPool.Get().(*[]*Socket)
	ss := (*p)[:0]
	v.n.mu.RLock()
	for _, id := range ids {
		if s := v.n.sockets[id]; s != nil {
			ss = append(ss, s)
		}
	}
	v.n.mu.RUnlock()
	for _, s := range ss {
		_ = s.deliver(msgs, flags.Volatile)
	}
	clear(ss)
	if cap(ss) <= maxPooledSockets {
		*p = ss[:0]
		socketsPool.Put(p)
	}
}

func (v adapterView) NextAckID() uint64 { return v.n.ids.Add(1) - 1 }

func (v adapterView) DeliverWithAck(ctx context.Context, id string, msgs []parser.Message,
	flags *adapter.Flags, ackID uint64, onAck func(args []any)) bool {
	s := v.n.Socket(id)
	if s == nil {
		return false
	}
	s.registerRawAck(ctx, ackID, onAck)
	if s.deliver(msgs, flags.Volatile) != nil {
		s.dropAck(ackID)
		return false
	}
	return true
}

func (v adapterView) SocketInfo(id string) (adapter.SocketInfo, bool) {
	s := v.n.Socket(id)
	if s == nil {
		return adapter.SocketInfo{}, false
	}
	return adapter.SocketInfo{ID: id, Handshake: s.handshake, Data: s.Data(), Local: true}, true
}

func (v adapterView) Disconnect(id string, close bool) {
	if s := v.n.Socket(id); s != nil {
		s.Disconnect(close)
	}
}

func (v adapterView) ServerSideEmit(args []any, ack func(arg any)) {
	var event string
	if len(args) == 0 || decodeValue(args[0], &event) != nil {
		return // not an event: nothing to dispatch
	}
	v.n.mu.RLock()
	hs := v.n.onSSE
	v.n.mu.RUnlock()
	for _, e := range hs {
		if e.event == event {
			e.h(Args(args[1:]), ack)
		}
	}
}

// ParentNamespace is a dynamic namespace (Server.OfRegexp, Server.OfFunc):
// its children are created when a client connects to a name it accepts, and
// share its middleware and connection handlers.
type ParentNamespace struct {
	srv   *Server
	match NamespaceMatcher

	mu        sync.RWMutex
	mws       []Middleware
	onConnect []ConnectionHandler
	children  map[*Namespace]struct{}
}

func newParentNamespace(srv *Server, match NamespaceMatcher) *ParentNamespace {
	return &ParentNamespace{srv: srv, match: match, children: make(map[*Namespace]struct{})}
}

// Use adds a connect middleware run for every child (before the child's own).
func (p *ParentNamespace) Use(m Middleware) {
	p.mu.Lock()
	p.mws = cowAppend(p.mws, m)
	p.mu.Unlock()
}

// OnConnection adds a handler called for every socket of every child.
func (p *ParentNamespace) OnConnection(h ConnectionHandler) {
	p.mu.Lock()
	p.onConnect = cowAppend(p.onConnect, h)
	p.mu.Unlock()
}

// Children returns the child namespaces that exist now.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*Namespace, 0, len(p.children))
	for n := range p.children {
		out = append(out, n)
	}
	return out
}

// Emit sends an event to every socket of every child.
func (p *ParentNamespace) Emit(event string, args ...any) error {
	return BroadcastOperator{targets: p.Children()}.Emit(event, args...)
}

// To returns an operator over every child that targets rooms.
func (p *ParentNamespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{targets: p.Children()}.To(rooms...)
}

func (p *ParentNamespace) middlewares() []Middleware {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.mws
}

func (p *ParentNamespace) connectionHandlers() []ConnectionHandler {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.onConnect
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n] = struct{}{}
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	delete(p.children, n)
	p.mu.Unlock()
}

// Timeout returns an operator whose EmitWithAck waits at most d.
func (n *Namespace) Timeout(d time.Duration) BroadcastOperator { return n.op().Timeout(d) }

// adapterFailed logs err, an adapter failure in the operation op (rate-limited:
// a client's connects and disconnects can repeat it at will). A nil err is
// nothing.
func (n *Namespace) adapterFailed(op string, err error) {
	if err == nil {
		return
	}
	n.observeAdapter(op, err)
	lograte.Log(n.srv.log, &n.srv.adapterLog, slog.LevelError, "socketio: adapter: "+op, "nsp", n.name, "err", err)
}
