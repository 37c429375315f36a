package helper

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// ClientOptions configure a ClientHelper. NewClientHelper copies them.
type ClientOptions struct {
	// Identifier names the helper in its logs. Default "socket-io-client".
	Identifier string
	// Host is the server's URL ("http://host:port"); its path, if any, is the
	// namespace.
	Host string
	// Path is the server's Socket.IO path. Default "/socket.io/".
	Path string
	// ExtraHeaders are sent with every request (e.g. Authorization).
	ExtraHeaders http.Header
	// Auth is the handshake's auth payload.
	Auth any
	// Transports are tried in order. Default polling then websocket.
	Transports []string
	// Manager holds the other connection options (reconnection, parser, ...);
	// Path, Transports and ExtraHeaders above take precedence.
	Manager *socketio.ManagerOptions

	// Reauthenticate makes the helper emit authenticate (with AuthPayload)
	// after every connection and reconnection.
	Reauthenticate bool
	// AuthPayload is the payload of the automatic authenticate; nil sends none.
	AuthPayload any

	// Callbacks; each is optional and runs on the connection's dispatcher
	// goroutine, never under a lock of the helper.
	OnConnected       func()
	OnDisconnected    func(reason socketio.DisconnectReason)
	OnAuthenticated   func(ev AuthenticatedEvent)
	OnUnauthenticated func(ev UnauthenticatedEvent)
	// OnError gets failed connection attempts and values that typed handlers
	// (Subscribe) could not decode.
	OnError func(err error)
	// Logger receives the helper's logs. Default slog.Default().
	Logger *slog.Logger
}

// ClientHelper is the client side of the helper protocol over one
// socketio.ClientSocket: connection, the authenticate exchange (again after
// every reconnection when asked), rooms and event subscription. It is safe for
// concurrent use.
type ClientHelper struct {
	opts ClientOptions
	sock *socketio.ClientSocket
	log  *slog.Logger

	mu      sync.Mutex
	state   State
	waiters []chan error
	// disconnects counts the disconnections (mu): an Authenticate that saw
	// the socket connected registers its waiter only if none came between,
	// else the disconnection has already answered the waiters without it.
	disconnects uint64
	own         map[string]socketio.ClientEventHandler // user handlers of the helper's events
	lastPing    time.Time
}

// NewClientHelper returns a helper for opts.Host, not yet connected.
func NewClientHelper(opts *ClientOptions) (*ClientHelper, error) {
	if opts == nil || opts.Host == "" {
		return nil, errors.New("helper: ClientOptions.Host is required")
	}
	o := *opts
	if o.Identifier == "" {
		o.Identifier = "socket-io-client"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	var copts socketio.ClientOptions
	if o.Manager != nil {
		copts.ManagerOptions = *o.Manager
	}
	if o.Path != "" {
		copts.Path = o.Path
	}
	if len(o.Transports) > 0 {
		copts.Transports = o.Transports
	}
	if o.ExtraHeaders != nil {
		copts.ExtraHeaders = o.ExtraHeaders.Clone()
	}
	copts.Auth = o.Auth
	sock, err := socketio.NewClientSocket(o.Host, &copts)
	if err != nil {
		return nil, err
	}
	c := &ClientHelper{opts: o, sock: sock, log: o.Logger.With("helper", o.Identifier), own: map[string]socketio.ClientEventHandler{}}
	sock.OnConnect(c.onConnect)
	sock.OnDisconnect(c.onDisconnect)
	sock.OnConnectError(func(err *socketio.ConnectError) { c.reportError(err) })
	sock.On(EventAuthenticated, c.onAuthenticated)
	sock.On(EventUnauthenticated, c.onUnauthenticated)
	sock.On(EventPing, c.onPing)
	return c, nil
}

// Connect connects and waits until the socket is connected, the server
// refuses it, or ctx ends (the helper then keeps trying; Disconnect stops it).
func (c *ClientHelper) Connect(ctx context.Context) error { return c.sock.Connect(ctx) }

// Disconnect leaves the server and stops reconnecting; Connect may be
// called again.
func (c *ClientHelper) Disconnect() error { return c.sock.Disconnect() }

// Close disconnects and releases the connection and its goroutines for good.
func (c *ClientHelper) Close() error { return c.sock.Manager().Close() }

// Connected reports whether the socket is connected.
func (c *ClientHelper) Connected() bool { return c.sock.Connected() }

// ID returns the socket id, "" while disconnected.
func (c *ClientHelper) ID() string { return c.sock.ID() }

// Socket returns the underlying Socket.IO client socket.
func (c *ClientHelper) Socket() *socketio.ClientSocket { return c.sock }

// State returns the authentication state.
func (c *ClientHelper) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// LastPing returns when the last app-level ping arrived (zero before any).
func (c *ClientHelper) LastPing() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastPing
}

// Authenticate emits authenticate (with payload, or none when nil) and waits
// for the server's answer: nil once authenticated, an *AuthError with the
// server's message when refused, ErrNotConnected when the connection is lost,
// ctx's error when ctx ends. When an authentication is already in flight it
// waits for that one; when already authenticated it returns nil at once.
func (c *ClientHelper) Authenticate(ctx context.Context, payload any) error {
	c.mu.Lock()
	seen := c.disconnects
	c.mu.Unlock()
	if !c.sock.Connected() {
		return ErrNotConnected
	}
	ch := make(chan error, 1)
	c.mu.Lock()
	if c.disconnects != seen {
		c.mu.Unlock()
		return ErrNotConnected
	}
	if c.state == StateAuthenticated {
		c.mu.Unlock()
		return nil
	}
	send := c.state == StateUnauthorized
	c.state = StateAuthenticating
	c.waiters = append(c.waiters, ch)
	c.mu.Unlock()
	if send {
		if err := c.emitAuthenticate(payload); err != nil {
			c.resolve(StateUnauthorized, err)
		}
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		c.mu.Lock()
		for i, w := range c.waiters {
			if w == ch {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *ClientHelper) emitAuthenticate(payload any) error {
	if payload == nil {
		return c.sock.Emit(EventAuthenticate)
	}
	return c.sock.Emit(EventAuthenticate, payload)
}

// resolve sets the state and answers every waiting Authenticate.
func (c *ClientHelper) resolve(st State, err error) {
	c.mu.Lock()
	c.state = st
	ws := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, w := range ws {
		w <- err
	}
}

// Emit sends topic with data (nil sends null; []byte travels as binary).
func (c *ClientHelper) Emit(topic string, data any) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	if !c.sock.Connected() {
		return ErrNotConnected
	}
	return c.sock.Emit(topic, data)
}

// EmitWithAck sends topic with data and waits for the server's
// acknowledgement until ctx ends.
func (c *ClientHelper) EmitWithAck(ctx context.Context, topic string, data any) (socketio.Args, error) {
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	if !c.sock.Connected() {
		return nil, ErrNotConnected
	}
	return c.sock.EmitWithAck(ctx, topic, data)
}

// Subscribe sets the handler of each event, replacing an earlier one. The
// helper's own events (authenticated, unauthenticated, ping) may be
// subscribed too: their handlers run after the helper processed them.
// Lifecycle events (connect, disconnect, ...) are refused with
// ErrReservedTopic: use the callbacks of ClientOptions.
func (c *ClientHelper) Subscribe(events map[string]socketio.ClientEventHandler) error {
	for name := range events {
		if err := checkTopic(name); err != nil {
			return err
		}
	}
	for name, h := range events {
		switch name {
		case EventAuthenticated, EventUnauthenticated, EventPing:
			c.mu.Lock()
			c.own[name] = h
			c.mu.Unlock()
		default:
			c.sock.On(name, h)
		}
	}
	return nil
}

// Unsubscribe removes the handlers of events (the helper keeps processing its
// own events).
func (c *ClientHelper) Unsubscribe(events ...string) {
	for _, name := range events {
		switch name {
		case EventAuthenticated, EventUnauthenticated, EventPing:
			c.mu.Lock()
			delete(c.own, name)
			c.mu.Unlock()
		default:
			c.sock.Off(name)
		}
	}
}

// JoinRooms asks the server to join rooms (emits join {rooms}). The seed's
// server does not answer; see JoinRoomsAck.
func (c *ClientHelper) JoinRooms(rooms ...string) error { return c.rooms(EventJoin, rooms) }

// LeaveRooms asks the server to leave rooms (emits leave {rooms}).
func (c *ClientHelper) LeaveRooms(rooms ...string) error { return c.rooms(EventLeave, rooms) }

func (c *ClientHelper) rooms(ev string, rooms []string) error {
	if !c.sock.Connected() {
		return ErrNotConnected
	}
	return c.sock.Emit(ev, RoomsRequest{Rooms: nonNil(rooms)})
}

// JoinRoomsAck asks to join rooms and returns the rooms the server joined
// (our ServerHelper acknowledges; the seed's server does not, so ctx must end
// the wait there).
func (c *ClientHelper) JoinRoomsAck(ctx context.Context, rooms ...string) ([]string, error) {
	return c.roomsAck(ctx, EventJoin, rooms)
}

// LeaveRoomsAck asks to leave rooms and returns the rooms the server left.
func (c *ClientHelper) LeaveRoomsAck(ctx context.Context, rooms ...string) ([]string, error) {
	return c.roomsAck(ctx, EventLeave, rooms)
}

func (c *ClientHelper) roomsAck(ctx context.Context, ev string, rooms []string) ([]string, error) {
	if !c.sock.Connected() {
		return nil, ErrNotConnected
	}
	args, err := c.sock.EmitWithAck(ctx, ev, RoomsRequest{Rooms: nonNil(rooms)})
	if err != nil {
		return nil, err
	}
	r, err := Decode[RoomsRequest](args, 0)
	return r.Rooms, err
}

func (c *ClientHelper) reportError(err error) {
	c.log.Debug("error", "err", err)
	if c.opts.OnError != nil {
		c.opts.OnError(err)
	}
}

func (c *ClientHelper) ownHandler(name string) socketio.ClientEventHandler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.own[name]
}

func (c *ClientHelper) onConnect() {
	c.mu.Lock()
	c.state = StateUnauthorized
	auto := c.opts.Reauthenticate
	if auto {
		c.state = StateAuthenticating
	}
	c.mu.Unlock()
	if c.opts.OnConnected != nil {
		c.opts.OnConnected()
	}
	if auto {
		if err := c.emitAuthenticate(c.opts.AuthPayload); err != nil {
			c.resolve(StateUnauthorized, err)
		}
	}
}

func (c *ClientHelper) onDisconnect(reason socketio.DisconnectReason) {
	c.mu.Lock()
	c.disconnects++
	c.mu.Unlock()
	c.resolve(StateUnauthorized, ErrNotConnected)
	if c.opts.OnDisconnected != nil {
		c.opts.OnDisconnected(reason)
	}
}

func (c *ClientHelper) onAuthenticated(args socketio.Args, ack socketio.AckFunc) {
	ev, _ := Decode[AuthenticatedEvent](args, 0)
	c.resolve(StateAuthenticated, nil)
	if c.opts.OnAuthenticated != nil {
		c.opts.OnAuthenticated(ev)
	}
	if h := c.ownHandler(EventAuthenticated); h != nil {
		h(args, ack)
	}
}

func (c *ClientHelper) onUnauthenticated(args socketio.Args, ack socketio.AckFunc) {
	ev, _ := Decode[UnauthenticatedEvent](args, 0)
	c.resolve(StateUnauthorized, &AuthError{Message: ev.Message})
	if c.opts.OnUnauthenticated != nil {
		c.opts.OnUnauthenticated(ev)
	}
	if h := c.ownHandler(EventUnauthenticated); h != nil {
		h(args, ack)
	}
}

func (c *ClientHelper) onPing(args socketio.Args, ack socketio.AckFunc) {
	c.mu.Lock()
	c.lastPing = time.Now()
	c.mu.Unlock()
	if h := c.ownHandler(EventPing); h != nil {
		h(args, ack)
	}
}
