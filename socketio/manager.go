package socketio

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/parser"
)

// Errors of the client.
var (
	// ErrClientClosed is returned by the calls of a closed Manager or of one of
	// its sockets.
	ErrClientClosed = errors.New("socketio: client closed")
	// ErrClientDisconnected ends the acknowledgements still waiting when their
	// socket disconnects (the reference's "socket has been disconnected").
	ErrClientDisconnected = errors.New("socketio: socket has been disconnected")
	// ErrClientAckTimeout is ErrAckTimeout, the one error of an
	// acknowledgement that did not arrive within its timeout, on the server
	// and on the client alike.
	//
	// Deprecated: use ErrAckTimeout.
	ErrClientAckTimeout = ErrAckTimeout
	// ErrClientBufferFull is returned by an emit while ClientSocketOptions.MaxBuffered
	// emits already wait for the connection.
	ErrClientBufferFull = errors.New("socketio: client send buffer full")
	// ErrClientNotConnected is returned by sends that need a connection (acks of
	// received events) while there is none.
	ErrClientNotConnected = errors.New("socketio: client not connected")
)

// Manager is a Socket.IO client connection: one Engine.IO connection to a server,
// multiplexing the sockets of any number of namespaces (Manager.Socket), with
// automatic reconnection. It is the client side of this package, next to
// Server; its behaviour follows npm socket.io-client 4.8.
//
// # Connecting
//
// NewManager and Manager.Socket make a socket without connecting, so that its
// handlers can be set first; ClientSocket.Connect then connects it (Open does
// the same without waiting). Connect and NewClientSocket do both for one
// socket on a Manager of its own; a ClientCache shares one Manager between the
// namespaces of a server, like io() does. Every socket sends its CONNECT (with
// ClientSocketOptions.Auth, or the result of AuthFunc, on every connection).
// A refusal arrives as a *ConnectError carrying the server's message and data.
//
// # Reconnection
//
// When the connection is lost ("transport close", "transport error", "ping
// timeout", "parse error"), connected sockets get their OnDisconnect handler and
// the Manager tries again after ReconnectionDelay, doubling up to
// ReconnectionDelayMax, spread by RandomizationFactor, for ReconnectionAttempts
// attempts (unlimited by default); OnReconnectAttempt, OnReconnectError,
// OnReconnect and OnReconnectFailed follow the attempts. There is no
// reconnection after ClientSocket.Disconnect ("io client disconnect") or after
// the server disconnected the socket ("io server disconnect"); Connect may be
// called again. A Manager whose sockets are all inactive closes its connection.
//
// # Emitting
//
// Emit does not wait for the network. While a socket is disconnected its emits
// are buffered and sent in order once it is connected again; Volatile emits are
// dropped instead. EmitWithAck waits for the acknowledgement under a context;
// Timeout and ClientSocketOptions.AckTimeout bound the wait otherwise; EmitAck
// takes a callback. With ClientSocketOptions.Retries, emits go through a queue
// where only the head is in flight and is resent when its ack times out or the
// connection comes back: each is delivered at least once, in order.
//
// # Goroutines
//
// Handlers (of the Manager and of its sockets) are run by one dispatcher per
// Manager, one at a time, in the order the events happened; never under a lock.
// The dispatcher's goroutine exists only while there are handlers to run. A
// handler that blocks delays the handlers after it; once DispatchQueue events
// wait, the read loop waits too, and then the Engine.IO layer stops reading. That
// wait is bounded by the connection: if the handlers stay stuck, the heartbeat
// fails, the connection closes ("ping timeout" or "transport close"), the event
// the read loop was holding is dropped, and the Manager reconnects.
// Acknowledgements awaited by EmitWithAck are delivered by the read loop, not
// the dispatcher, so a handler may call EmitWithAck (as long as the dispatch
// queue is not full).
//
// A Manager is safe for concurrent use. Close ends its connection and every
// goroutine it started; a Manager whose sockets are all disconnected holds no
// connection and no goroutine either.
type Manager struct {
	rawURL string         // scheme://host of the server
	opts   ManagerOptions // with defaults
	dial   *engineio.DialOptions

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	disp   *clientDispatcher
	wg     sync.WaitGroup // dial goroutines, read loops, reconnect timers

	hmu      sync.Mutex
	handlers managerHandlers

	mu             sync.Mutex
	state          managerState
	conn           *engineio.Conn
	gen            uint64 // incremented by every open; stale goroutines compare it
	sockets        map[string]*ClientSocket
	skipReconnect  bool
	reconnecting   bool
	reconnectTimer *time.Timer
	backoff        clientBackoff
	closing        bool   // Close was called
	closed         bool   // Close has closed the sockets: no new connection
	onClosed       func() // set by a ClientCache
}

type managerState int

const (
	managerClosed managerState = iota
	managerOpening
	managerOpen
)

type managerHandlers struct {
	open             func()
	err              func(error)
	close            func(DisconnectReason)
	reconnectAttempt func(int)
	reconnect        func(int)
	reconnectError   func(error)
	reconnectFailed  func()
}

// NewManager returns a Manager for the server at rawURL ("http://host:port",
// "https://…", or the ws/wss forms; a path in the URL is ignored, the Engine.IO
// path is ManagerOptions.Path, and its query is added to ManagerOptions.Query).
// It does not connect: the first socket that connects opens the connection.
func NewManager(rawURL string, opts *ManagerOptions) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socketio: client url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("socketio: client url %q: scheme must be http, https, ws or wss", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("socketio: client url %q: no host", rawURL)
	}
	o := opts.withDefaults()
	q := o.Query
	if len(u.Query()) > 0 {
		if q == nil {
			q = url.Values{}
		}
		for k, vs := range u.Query() {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		o.Query = q
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		rawURL:  u.Scheme + "://" + u.Host,
		opts:    o,
		ctx:     ctx,
		cancel:  cancel,
		disp:    newClientDispatcher(o.DispatchQueue),
		sockets: make(map[string]*ClientSocket),
		backoff: clientBackoff{min: o.ReconnectionDelay, max: o.ReconnectionDelayMax, jitter: o.RandomizationFactor},
	}
	m.dial = &engineio.DialOptions{
		Path:            o.Path,
		Transports:      o.Transports,
		DisableUpgrade:  o.DisableUpgrade,
		RememberUpgrade: o.RememberUpgrade,
		Query:           o.Query,
		ExtraHeaders:    o.ExtraHeaders,
		HTTPClient:      o.HTTPClient,
	}
	return m, nil
}

// Socket returns the socket of namespace nsp ("/" when empty), creating it with
// opts on first use (later calls return the same socket and ignore opts). The
// socket is not connected: register its handlers, then call Connect or Open.
func (m *Manager) Socket(nsp string, opts *ClientSocketOptions) *ClientSocket {
	if nsp == "" {
		nsp = "/"
	} else if nsp[0] != '/' {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sockets[nsp]; s != nil {
		return s
	}
	s := newClientSocket(m, nsp, opts.withDefaults())
	s.closed = m.closed
	m.sockets[nsp] = s
	return s
}

// Connected reports whether the Engine.IO connection is open.
func (m *Manager) Connected() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state == managerOpen
}

// Transport returns the name of the current transport ("polling" or
// "websocket"), or "" without a connection.
func (m *Manager) Transport() string {
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c == nil {
		return ""
	}
	return c.Transport()
}

// EngineID returns the Engine.IO session id of the current connection, or "".
func (m *Manager) EngineID() string {
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c == nil {
		return ""
	}
	return c.ID()
}

// Manager events. Each setter replaces the previous handler; nil removes it.
// Handlers run on the Manager's dispatcher (see Manager).

// OnOpen sets the handler called when the Engine.IO connection opens.
func (m *Manager) OnOpen(h func()) { m.setHandler(func(hs *managerHandlers) { hs.open = h }) }

// OnError sets the handler called when a connection attempt fails.
func (m *Manager) OnError(h func(error)) { m.setHandler(func(hs *managerHandlers) { hs.err = h }) }

// OnClose sets the handler called when the Engine.IO connection closes, with
// the reason ("transport close", "ping timeout", ..., or "forced close" when
// closed on purpose).
func (m *Manager) OnClose(h func(DisconnectReason)) {
	m.setHandler(func(hs *managerHandlers) { hs.close = h })
}

// OnReconnectAttempt sets the handler called before each reconnection attempt,
// with its number (from 1).
func (m *Manager) OnReconnectAttempt(h func(attempt int)) {
	m.setHandler(func(hs *managerHandlers) { hs.reconnectAttempt = h })
}

// OnReconnect sets the handler called when a reconnection succeeded, with the
// number of attempts it took.
func (m *Manager) OnReconnect(h func(attempt int)) {
	m.setHandler(func(hs *managerHandlers) { hs.reconnect = h })
}

// OnReconnectError sets the handler called when a reconnection attempt fails.
func (m *Manager) OnReconnectError(h func(error)) {
	m.setHandler(func(hs *managerHandlers) { hs.reconnectError = h })
}

// OnReconnectFailed sets the handler called when ReconnectionAttempts attempts
// failed and the Manager gives up.
func (m *Manager) OnReconnectFailed(h func()) {
	m.setHandler(func(hs *managerHandlers) { hs.reconnectFailed = h })
}

func (m *Manager) setHandler(f func(*managerHandlers)) {
	m.hmu.Lock()
	f(&m.handlers)
	m.hmu.Unlock()
}

// emitManager queues a call of the Manager's handlers on the dispatcher.
func (m *Manager) emitManager(f func(*managerHandlers)) {
	m.disp.push(func() {
		m.hmu.Lock()
		h := m.handlers
		m.hmu.Unlock()
		f(&h)
	})
}

// Close disconnects every socket ("io client disconnect"), closes the Engine.IO
// connection, stops reconnecting and waits for the Manager's goroutines to end.
// Handlers already queued (such as those disconnect events) still run, after
// Close returns if it is called from a handler. It is idempotent; afterwards
// every call of the Manager or its sockets fails with ErrClientClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed || m.closing {
		m.mu.Unlock()
		return nil
	}
	m.closing = true
	socks := m.socketListLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.disconnect(true)
	}
	m.mu.Lock()
	m.closed = true
	m.skipReconnect = true
	m.stopReconnectLocked()
	conn := m.conn
	m.conn = nil
	wasOpen := m.state == managerOpen
	m.state = managerClosed
	m.gen++
	onClosed := m.onClosed
	m.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	m.cancel()
	if wasOpen {
		m.emitManager(func(h *managerHandlers) {
			if h.close != nil {
				h.close(ReasonForcedClose)
			}
		})
	}
	m.wg.Wait()
	if onClosed != nil {
		onClosed()
	}
	return nil
}

func (m *Manager) socketListLocked() []*ClientSocket {
	out := make([]*ClientSocket, 0, len(m.sockets))
	for _, s := range m.sockets {
		out = append(out, s)
	}
	return out
}

// openLocked starts a connection attempt unless one is open or under way.
// m.mu is held.
func (m *Manager) openLocked(reconnect bool) {
	if m.closed || m.state != managerClosed {
		return
	}
	m.state = managerOpening
	m.skipReconnect = m.opts.DisableReconnection
	m.gen++
	gen := m.gen
	m.wg.Add(1)
	go m.dialLoop(gen, reconnect)
}

// dialLoop makes one connection attempt and, when it succeeds, runs the read
// loop of the connection.
func (m *Manager) dialLoop(gen uint64, reconnect bool) {
	defer m.wg.Done()
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.Timeout)
	conn, err := engineio.Dial(ctx, m.rawURL, m.dial)
	cancel()

	m.mu.Lock()
	if m.closed || gen != m.gen {
		m.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		return
	}
	if err != nil {
		m.state = managerClosed
		m.mu.Unlock()
		m.onOpenError(err, reconnect)
		return
	}
	m.state = managerOpen
	m.conn = conn
	var attempt int
	if reconnect {
		attempt = m.backoff.attempts
		m.reconnecting = false
		m.backoff.reset()
	}
	m.emitManager(func(h *managerHandlers) {
		if h.open != nil {
			h.open()
		}
	})
	var active []*ClientSocket
	for _, s := range m.sockets {
		if s.active.Load() {
			active = append(active, s)
		}
	}
	m.mu.Unlock()

	for _, s := range active {
		s.sendConnect(conn)
	}
	if reconnect {
		m.emitManager(func(h *managerHandlers) {
			if h.reconnect != nil {
				h.reconnect(attempt)
			}
		})
	}
	m.readLoop(gen, conn)
}

// onOpenError reports a failed connection attempt and schedules the next one.
func (m *Manager) onOpenError(err error, reconnect bool) {
	err = fmt.Errorf("socketio: connect: %w", err)
	m.mu.Lock()
	willRetry := !m.opts.DisableReconnection && !m.skipReconnect && !m.closed &&
		(m.opts.ReconnectionAttempts <= 0 || m.backoff.attempts < m.opts.ReconnectionAttempts)
	socks := m.socketListLocked()
	m.emitManager(func(h *managerHandlers) {
		if h.err != nil {
			h.err(err)
		}
	})
	m.mu.Unlock()
	for _, s := range socks {
		s.onManagerError(err, !willRetry)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if reconnect {
		m.reconnecting = false
		m.reconnectLocked()
		m.emitManager(func(h *managerHandlers) {
			if h.reconnectError != nil {
				h.reconnectError(err)
			}
		})
		return
	}
	if !m.reconnecting && !m.opts.DisableReconnection && m.backoff.attempts == 0 {
		m.reconnectLocked()
	}
}

// readLoop reads the connection until it closes, decodes packets and routes
// them to their namespace sockets.
func (m *Manager) readLoop(gen uint64, conn *engineio.Conn) {
	dec := m.opts.Parser.NewDecoder()
	for {
		msg, err := conn.Read(m.ctx)
		if err != nil {
			m.onConnClose(gen, conn, clientCloseReason(conn, err))
			return
		}
		p, err := dec.Add(parser.Message(msg))
		if err != nil {
			conn.Close()
			m.onConnClose(gen, conn, ReasonParseError)
			return
		}
		if p == nil {
			continue
		}
		m.mu.Lock()
		s := m.sockets[p.Namespace]
		m.mu.Unlock()
		if s != nil {
			s.onPacket(conn, p)
		}
	}
}

// clientCloseReason maps the end of an Engine.IO connection to a disconnect
// reason with the reference's strings.
func clientCloseReason(conn *engineio.Conn, err error) DisconnectReason {
	var r engineio.Reason
	if c := context.Cause(conn.Context()); c != nil && errors.As(c, &r) {
		return DisconnectReason(r)
	}
	if errors.As(err, &r) {
		return DisconnectReason(r)
	}
	return ReasonTransportClose
}

// onConnClose handles the end of the connection of generation gen: the sockets
// disconnect with reason, and the Manager reconnects unless told not to.
func (m *Manager) onConnClose(gen uint64, conn *engineio.Conn, reason DisconnectReason) {
	m.mu.Lock()
	if gen != m.gen || m.conn != conn {
		m.mu.Unlock()
		return
	}
	m.conn = nil
	m.state = managerClosed
	m.backoff.reset()
	socks := m.socketListLocked()
	m.mu.Unlock()
	conn.Close()
	m.emitManager(func(h *managerHandlers) {
		if h.close != nil {
			h.close(reason)
		}
	})
	for _, s := range socks {
		s.onClose(reason)
	}
	m.mu.Lock()
	if !m.opts.DisableReconnection && !m.skipReconnect {
		m.reconnectLocked()
	}
	m.mu.Unlock()
}

// activate marks s active and opens the connection if needed. It returns the
// open connection on which s must send its CONNECT, or nil when a connection
// under way will send it (or s was already active on an open connection).
func (m *Manager) activate(s *ClientSocket) (*engineio.Conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClientClosed
	}
	if !s.active.Load() {
		s.active.Store(true)
		if m.state == managerOpen {
			return m.conn, nil
		}
	}
	if m.state == managerClosed && !m.reconnecting {
		m.openLocked(false)
	}
	return nil, nil
}

// deactivate marks s inactive; when no socket is left active, the connection is
// closed and the Manager stops reconnecting (like the reference's Manager).
func (m *Manager) deactivate(s *ClientSocket) {
	m.mu.Lock()
	s.active.Store(false)
	for _, o := range m.sockets {
		if o.active.Load() {
			m.mu.Unlock()
			return
		}
	}
	m.skipReconnect = true
	m.stopReconnectLocked()
	m.backoff.reset()
	conn := m.conn
	m.conn = nil
	wasOpen := m.state == managerOpen
	m.state = managerClosed
	m.gen++
	m.mu.Unlock()
	if conn != nil {
		m.wg.Add(1)
		go func() { // Close flushes; the caller may be the read loop
			defer m.wg.Done()
			conn.Close()
		}()
	}
	if wasOpen {
		m.emitManager(func(h *managerHandlers) {
			if h.close != nil {
				h.close(ReasonForcedClose)
			}
		})
	}
}

// currentConn returns the open connection, or nil.
func (m *Manager) currentConn() *engineio.Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conn
}

// send encodes p and queues it on conn.
func (m *Manager) send(conn *engineio.Conn, p *parser.Packet) error {
	msgs, err := m.encode(p)
	if err != nil {
		return err
	}
	if conn == nil {
		return ErrClientNotConnected
	}
	return conn.Send(msgs...)
}

// encode returns the Engine.IO messages of p.
func (m *Manager) encode(p *parser.Packet) ([]engineio.Message, error) {
	msgs, err := m.opts.Parser.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("socketio: encode %s: %w", p.Type, err)
	}
	em := make([]engineio.Message, len(msgs))
	for i, msg := range msgs {
		em[i] = engineio.Message(msg)
	}
	return em, nil
}
