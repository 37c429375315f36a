package helper

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/lograte"
	"github.com/corvid-io/corvid/socketio"
)

// Identity is who an authenticated socket is, as an AuthenticateFunc returns it.
type Identity struct {
	// UserID names the user; when not empty the socket joins the user's room
	// (ServerHelper.UserRoom) so that Send(ToUser(id)) reaches every socket of
	// that user, on every node.
	UserID string
	// Data is kept with the client and travels with the cluster listing
	// (ClusterClients), so use values that survive JSON/msgpack.
	Data any
}

// AuthRequest is what an AuthenticateFunc decides on.
type AuthRequest struct {
	// SocketID is the socket's id.
	SocketID string
	// Handshake holds the connection's headers, query and auth payload.
	Handshake *socketio.Handshake
	// Payload are the arguments of the authenticate event (Len() is 0 when the
	// client sent none, as the seed's client does).
	Payload socketio.Args
}

// AuthenticateFunc decides whether a socket is who it claims. It returns the
// socket's identity, or an error: an *AuthError sends its message to the
// client, any other error (or a nil identity) a generic one. ctx ends when the
// authentication deadline passes or the socket disconnects. It runs on the
// connection's dispatcher goroutine, so it delays only that connection.
type AuthenticateFunc func(ctx context.Context, req *AuthRequest) (*Identity, error)

// ValidateRoomFunc returns the rooms, among those an authenticated client
// asked to join, that it may join (it may also return others). Without one,
// every join request is refused.
type ValidateRoomFunc func(ctx context.Context, c *Client, rooms []string) ([]string, error)

// ClientConnectedFunc is called once per socket after its authentication,
// on the connection's dispatcher goroutine: set the socket's own handlers
// (c.Socket().On) here; events the client sends after it saw authenticated
// are dispatched after this call returns.
type ClientConnectedFunc func(c *Client)

// Cluster connects the server a helper makes to the other nodes of a
// cluster: NewAdapter is the adapter factory of the server's namespaces, and
// Close releases the connection once the server is shut down. The Redis
// adapters of package adapter/redis are Clusters: a *redis.Client (Dial,
// DialMode; classic or sharded pub/sub) and a *redis.Streams (DialStreams).
// The helper needs nothing else from them: Send and Broadcast go through the
// server's broadcast, which the adapter delivers to this node's sockets and
// publishes to the others.
type Cluster interface {
	NewAdapter(ns adapter.Namespace) (adapter.Adapter, error)
	Close() error
}

// ServerOptions configure a ServerHelper. The zero value of each field
// means the default written next to it; NewServerHelper copies the struct.
type ServerOptions struct {
	// Identifier names the helper in its logs. Default "socket-io-server".
	Identifier string
	// Server is an existing Socket.IO server to use. When nil, the helper
	// makes one from SocketIO (and Redis) and owns it: Shutdown shuts it down.
	Server *socketio.Server
	// SocketIO are the options of the server the helper makes (ignored when
	// Server is set). Its Adapter, the adapter factory, decides whether Send
	// and Broadcast reach other nodes; Cluster replaces it.
	SocketIO *socketio.ServerOptions
	// Namespace is the namespace the helper manages. Default "/".
	Namespace string
	// Cluster, when set, is the server's adapter factory (Cluster.NewAdapter,
	// in place of SocketIO.Adapter), and Shutdown closes it after the server:
	// the helper owns it from the moment NewServerHelper returns without
	// error. It cannot be combined with Server (whose adapter is the
	// caller's choice).
	Cluster Cluster
	// PublishTimeout bounds how long Send and Broadcast wait for the
	// publication to the other nodes, when ctx has no earlier deadline.
	// Default 1 s (DefaultPublishTimeout).
	PublishTimeout time.Duration

	// Authenticate is required.
	Authenticate AuthenticateFunc
	// ValidateRoom filters join requests; nil refuses them all.
	ValidateRoom ValidateRoomFunc
	// ClientConnected runs after each successful authentication.
	ClientConnected ClientConnectedFunc

	// DefaultRooms are joined by every authenticated socket and targeted by
	// Broadcast. Default [io-default io-notification]; a list replaces them.
	DefaultRooms []string
	// UserRoomPrefix prefixes a user's room. Default "user:".
	UserRoomPrefix string
	// AuthenticateTimeout is how long a new socket has to authenticate before
	// it is disconnected. Default 10 s.
	AuthenticateTimeout time.Duration
	// PingInterval is the period of the app-level ping event to authenticated
	// sockets. Default 30 s.
	PingInterval time.Duration
	// MaxRoomsPerSocket bounds the rooms a socket may be in after a join
	// request of its client (its own room not counted; the default rooms and
	// the user's room count). A request that would exceed it joins none of
	// its rooms and is acknowledged with an empty list; ValidateRoom is not
	// called for a request of more rooms than the bound. Default
	// DefaultMaxRoomsPerSocket; negative means unlimited. Joins made by the
	// server (Socket.Join, SocketsJoin) are not bounded by it.
	MaxRoomsPerSocket int
	// Logger receives the helper's logs. Default slog.Default(). The lines a
	// client can cause again and again (a refused join, an authenticate out
	// of place) are rate-limited: 10 at once, then one a second per kind,
	// with a "suppressed" count.
	Logger *slog.Logger
}

// DefaultMaxRoomsPerSocket is the default of ServerOptions.MaxRoomsPerSocket.
const DefaultMaxRoomsPerSocket = 1000

// ServerHelper runs the seed's authentication protocol over a Socket.IO
// namespace and addresses sockets, rooms and users across the cluster. It is
// an http.Handler (the Socket.IO server's) and safe for concurrent use.
type ServerHelper struct {
	opts      ServerOptions
	srv       *socketio.Server
	nsp       *socketio.Namespace
	ownServer bool
	cluster   Cluster
	log       *slog.Logger

	mu      sync.Mutex
	clients map[string]*Client
	closed  bool

	// Rate limits of the log lines clients can cause, one per kind.
	logAuth, logJoin, logJoinErr, logAuthFail, logDeadline lograte.Limiter
}

// logRoomsShown is the number of bytes of a client's first room name shown in
// a log line.
const logRoomsShown = 64

// NewServerHelper returns a helper over opts.Server or a new Socket.IO server
// (with opts.Cluster's adapters). It does not block: ctx is kept for
// compatibility and only checked.
func NewServerHelper(ctx context.Context, opts *ServerOptions) (*ServerHelper, error) {
	if opts == nil || opts.Authenticate == nil {
		return nil, errors.New("helper: ServerOptions.Authenticate is required")
	}
	if opts.Server != nil && opts.Cluster != nil {
		return nil, errors.New("helper: ServerOptions.Cluster cannot be combined with Server")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := *opts
	if o.Identifier == "" {
		o.Identifier = "socket-io-server"
	}
	if o.Namespace == "" {
		o.Namespace = "/"
	}
	if len(o.DefaultRooms) == 0 {
		o.DefaultRooms = []string{RoomDefault, RoomNotification}
	} else {
		o.DefaultRooms = append([]string(nil), o.DefaultRooms...)
	}
	if o.UserRoomPrefix == "" {
		o.UserRoomPrefix = DefaultUserRoomPrefix
	}
	if o.AuthenticateTimeout <= 0 {
		o.AuthenticateTimeout = DefaultAuthenticateTimeout
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxRoomsPerSocket == 0 {
		o.MaxRoomsPerSocket = DefaultMaxRoomsPerSocket
	}
	h := &ServerHelper{
		opts:    o,
		log:     o.Logger.With("helper", o.Identifier),
		clients: make(map[string]*Client),
		cluster: o.Cluster,
	}
	if o.Server != nil {
		h.srv = o.Server
	} else {
		var sopts socketio.ServerOptions
		if o.SocketIO != nil {
			sopts = *o.SocketIO
		}
		if o.Cluster != nil {
			sopts.Adapter = o.Cluster.NewAdapter
		}
		h.srv = socketio.NewServer(&sopts)
		h.ownServer = true
	}
	h.nsp = h.srv.Of(o.Namespace)
	h.nsp.OnConnection(h.onConnection)
	return h, nil
}

// ServeHTTP serves the Socket.IO server's transports.
func (h *ServerHelper) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.srv.ServeHTTP(w, r) }

// Server returns the Socket.IO server.
func (h *ServerHelper) Server() *socketio.Server { return h.srv }

// Namespace returns the managed namespace.
func (h *ServerHelper) Namespace() *socketio.Namespace { return h.nsp }

// UserRoom returns the room of user id.
func (h *ServerHelper) UserRoom(id string) string { return h.opts.UserRoomPrefix + id }

// Destination addresses a Send: a socket, a room or a user.
type Destination struct {
	kind byte // 's', 'r', 'u'
	name string
}

// ToSocket addresses the socket id (on any node).
func ToSocket(id string) Destination { return Destination{'s', id} }

// ToRoom addresses every socket in room.
func ToRoom(room string) Destination { return Destination{'r', room} }

// ToUser addresses every authenticated socket of user id, on every node.
func ToUser(id string) Destination { return Destination{'u', id} }

func (h *ServerHelper) room(d Destination) string {
	if d.name == "" {
		return ""
	}
	if d.kind == 'u' {
		return h.UserRoom(d.name)
	}
	return d.name
}

// Send emits topic with data to dest, on every node: through the server's
// broadcast, which delivers it to this node's sockets and has the adapter
// publish it to the other nodes. data may be any value the parser encodes
// ([]byte travels as binary), zero values and nil included.
//
// The publication waits at most until ctx's deadline or PublishTimeout,
// whichever comes first. When the cluster adapter delivered to this node's
// sockets but could not publish (its broker down, stalled past the deadline,
// or refusing), the error is an *adapter.PublishError: errors.Is(err,
// adapter.ErrNotPublished) holds, and so does errors.Is(err,
// context.DeadlineExceeded) when the deadline passed. Such a message may still
// reach the other nodes later (a stalled Redis that resumes runs the commands
// it had already received), or not at all.
func (h *ServerHelper) Send(ctx context.Context, dest Destination, topic string, data any) error {
	room := h.room(dest)
	if room == "" {
		return ErrNoDestination
	}
	return h.emit(ctx, []string{room}, topic, data)
}

// Broadcast emits topic with data to every authenticated socket (those in the
// default rooms) of every node; errors as for Send.
func (h *ServerHelper) Broadcast(ctx context.Context, topic string, data any) error {
	return h.emit(ctx, h.opts.DefaultRooms, topic, data)
}

func (h *ServerHelper) emit(ctx context.Context, rooms []string, topic string, data any) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	d := h.opts.PublishTimeout
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > d {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	return h.nsp.To(rooms...).EmitContext(ctx, topic, data)
}

// Client returns the tracked socket id of this node, or nil.
func (h *ServerHelper) Client(id string) *Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients[id]
}

// ClientInfo describes one tracked socket.
type ClientInfo struct {
	ID     string
	State  State
	UserID string
	Data   any // Identity.Data
	Rooms  []string
	// Local is true for a socket of this node.
	Local     bool
	Handshake *socketio.Handshake
}

// Clients lists the sockets of this node and their state.
func (h *ServerHelper) Clients() []ClientInfo {
	h.mu.Lock()
	cs := make([]*Client, 0, len(h.clients))
	for _, c := range h.clients {
		cs = append(cs, c)
	}
	h.mu.Unlock()
	out := make([]ClientInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Info())
	}
	return out
}

// ClusterClients lists the sockets of the namespace on every node (through
// the adapter: a request to the other nodes with the Redis adapter). The state
// and identity of each come from the socket data the helper keeps.
func (h *ServerHelper) ClusterClients(ctx context.Context) ([]ClientInfo, error) {
	socks, err := h.nsp.FetchSockets(ctx)
	out := make([]ClientInfo, 0, len(socks))
	for _, s := range socks {
		ci := ClientInfo{ID: s.ID, Rooms: s.Rooms, Local: s.Local, Handshake: s.Handshake}
		if m, ok := s.Data.(map[string]any); ok {
			if st, ok := m["state"].(string); ok {
				ci.State, _ = ParseState(st)
			}
			ci.UserID, _ = m["userId"].(string)
			ci.Data = m["data"]
		}
		out = append(out, ci)
	}
	return out, err
}

// Shutdown stops the helper's timers, shuts down the Socket.IO server when
// the helper made it, and then closes the Cluster. It returns ctx's error when
// the server did not finish in time. It is idempotent.
//
// It never sends a Socket.IO DISCONNECT, after which official clients would
// not reconnect: like socketio.Server.Shutdown (and io.close() of the
// reference) it closes the Engine.IO connections, so clients see "transport
// close" and reconnect by themselves, to this node once it is back or to
// another one (a rolling restart). With a Server of the caller's, the
// connections of the helper's sockets are closed (Socket.CloseConn); later
// connections to the helper's namespace are refused with a DISCONNECT while
// that server keeps running.
func (h *ServerHelper) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	cs := make([]*Client, 0, len(h.clients))
	for _, c := range h.clients {
		cs = append(cs, c)
	}
	// The sockets' disconnect handlers, which also remove them, run later on
	// their dispatchers: a helper that is shut down lists no client.
	clear(h.clients)
	h.mu.Unlock()
	for _, c := range cs {
		c.stop()
		if !h.ownServer {
			c.s.CloseConn()
		}
	}
	var err error
	if h.ownServer {
		err = h.srv.Shutdown(ctx)
	}
	if h.cluster != nil {
		if cerr := h.cluster.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

func (h *ServerHelper) onConnection(s *socketio.Socket) {
	c := &Client{h: h, s: s}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		if h.ownServer {
			s.CloseConn() // the server is going down: come back to its successor
		} else {
			s.Disconnect(false)
		}
		return
	}
	if _, dup := h.clients[s.ID()]; dup {
		h.mu.Unlock()
		return
	}
	h.clients[s.ID()] = c
	h.mu.Unlock()

	c.mu.Lock()
	c.deadlineAt = time.Now().Add(h.opts.AuthenticateTimeout)
	c.deadline = time.AfterFunc(h.opts.AuthenticateTimeout, c.onDeadline)
	c.mu.Unlock()
	c.publish()
	s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		c.stop()
		h.mu.Lock()
		if h.clients[s.ID()] == c {
			delete(h.clients, s.ID())
		}
		h.mu.Unlock()
		h.log.Debug("client disconnected", "id", s.ID(), "reason", string(reason))
	})
	s.On(EventAuthenticate, func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		h.authenticate(c, args, ack)
	})
}

func (h *ServerHelper) authenticate(c *Client, args socketio.Args, ack socketio.AckFunc) {
	s := c.s
	c.mu.Lock()
	if c.state != StateUnauthorized || c.stopped {
		st := c.state
		c.mu.Unlock()
		lograte.Log(h.log, &h.logAuth, slog.LevelWarn, "authenticate ignored", "id", s.ID(), "state", st.String())
		return
	}
	c.state = StateAuthenticating
	deadline := c.deadlineAt
	c.mu.Unlock()
	c.publish()

	ctx, cancel := context.WithDeadline(s.Context(), deadline)
	id, err := h.opts.Authenticate(ctx, &AuthRequest{SocketID: s.ID(), Handshake: s.Handshake(), Payload: args})
	expired := ctx.Err() != nil
	cancel()
	if s.Context().Err() != nil {
		return // gone meanwhile
	}
	if err == nil && id != nil && expired {
		err = &AuthError{Message: MessageAuthFailed}
	}
	if err != nil || id == nil {
		msg := MessageInvalidCredentials
		var ae *AuthError
		if errors.As(err, &ae) {
			msg = ae.Message
		} else if err != nil {
			msg = MessageAuthFailed
			lograte.Log(h.log, &h.logAuthFail, slog.LevelInfo, "authentication failed", "id", s.ID(), "err", err)
		}
		c.mu.Lock()
		c.state = StateUnauthorized
		c.mu.Unlock()
		c.publish()
		ev := UnauthenticatedEvent{Message: msg, Time: isoTime(time.Now())}
		if ack != nil {
			_ = ack(ev)
		}
		// The event and the DISCONNECT packet share the connection's ordered
		// queue: the client gets the notice before it is disconnected.
		_ = s.Emit(EventUnauthenticated, ev)
		s.Disconnect(false)
		return
	}

	rooms := append([]string(nil), h.opts.DefaultRooms...)
	if id.UserID != "" {
		rooms = append(rooms, h.UserRoom(id.UserID))
	}
	if err := s.Join(rooms...); err != nil {
		h.log.Error("join default rooms", "id", s.ID(), "err", err)
	}
	c.mu.Lock()
	c.state = StateAuthenticated
	c.identity = *id
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
	c.mu.Unlock()
	c.publish()
	s.On(EventJoin, func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { h.join(c, args, ack) })
	s.On(EventLeave, func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { h.leave(c, args, ack) })

	ev := AuthenticatedEvent{ID: s.ID(), Time: isoTime(time.Now())}
	if ack != nil {
		_ = ack(ev)
	}
	_ = s.Emit(EventAuthenticated, ev)
	c.onPing()
	h.log.Debug("client authenticated", "id", s.ID(), "user", id.UserID)
	if h.opts.ClientConnected != nil {
		h.opts.ClientConnected(c)
	}
}

// roomsOf decodes {rooms: [...]} keeping the strings only.
func roomsOf(args socketio.Args) []string {
	var req struct {
		Rooms []any `json:"rooms"`
	}
	if args.Decode(0, &req) != nil {
		return nil
	}
	out := make([]string, 0, len(req.Rooms))
	for _, r := range req.Rooms {
		if s, ok := r.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (h *ServerHelper) join(c *Client, args socketio.Args, ack socketio.AckFunc) {
	rooms := roomsOf(args)
	var joined []string
	switch {
	case len(rooms) == 0:
	case h.opts.ValidateRoom == nil:
		h.refuse(c, rooms, "no ValidateRoom")
	case h.opts.MaxRoomsPerSocket > 0 && len(rooms) > h.opts.MaxRoomsPerSocket:
		h.refuse(c, rooms, socketio.ErrTooManyRooms.Error())
	default:
		ok, err := h.opts.ValidateRoom(c.s.Context(), c, rooms)
		if err != nil {
			h.refuse(c, rooms, err.Error())
			break
		}
		for _, r := range ok {
			if r != "" {
				joined = append(joined, r)
			}
		}
		if len(joined) == 0 {
			break
		}
		if !h.roomsFit(c, joined) {
			h.refuse(c, joined, socketio.ErrTooManyRooms.Error())
			joined = nil
		} else if err := c.s.Join(joined...); err != nil {
			lograte.Log(h.log, &h.logJoinErr, slog.LevelError, "join", "id", c.s.ID(), "err", err)
			joined = nil
		}
	}
	if ack != nil {
		_ = ack(RoomsRequest{Rooms: nonNil(joined)})
	}
}

// refuse logs a refused join request (rate-limited, with the number of rooms
// and the start of the first, never the whole request).
func (h *ServerHelper) refuse(c *Client, rooms []string, why string) {
	lograte.Log(h.log, &h.logJoin, slog.LevelWarn, "join refused", "id", c.s.ID(),
		"rooms", len(rooms), "first", lograte.Trunc(rooms[0], logRoomsShown), "err", why)
}

// roomsFit reports whether c's socket stays within MaxRoomsPerSocket after
// joining rooms. It costs the rooms the socket is in, which the bound keeps
// small for the rooms clients ask for.
func (h *ServerHelper) roomsFit(c *Client, rooms []string) bool {
	max := h.opts.MaxRoomsPerSocket
	if max < 0 {
		return true
	}
	in := c.s.Rooms()
	set := make(map[string]struct{}, len(in)+len(rooms))
	for _, r := range in {
		set[r] = struct{}{}
	}
	own := c.s.ID()
	_, hasOwn := set[own]
	n := len(set)
	if hasOwn {
		n--
	}
	for _, r := range rooms {
		if _, ok := set[r]; !ok && r != own {
			set[r] = struct{}{}
			n++
		}
	}
	return n <= max
}

// leave leaves any requested room but the socket's own and its user's.
func (h *ServerHelper) leave(c *Client, args socketio.Args, ack socketio.AckFunc) {
	user := c.Identity().UserID
	var left []string
	for _, r := range roomsOf(args) {
		if r == c.s.ID() || (user != "" && r == h.UserRoom(user)) {
			continue
		}
		if c.s.Leave(r) == nil {
			left = append(left, r)
		}
	}
	if ack != nil {
		_ = ack(RoomsRequest{Rooms: nonNil(left)})
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Client is one socket tracked by a ServerHelper. Its methods are safe for
// concurrent use.
type Client struct {
	h *ServerHelper
	s *socketio.Socket

	mu         sync.Mutex
	state      State
	identity   Identity
	deadlineAt time.Time
	deadline   *time.Timer // authentication deadline
	ping       *time.Timer // next app-level ping
	stopped    bool
}

// ID returns the socket id.
func (c *Client) ID() string { return c.s.ID() }

// Socket returns the Socket.IO socket.
func (c *Client) Socket() *socketio.Socket { return c.s }

// State returns the authentication state.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Identity returns the identity the AuthenticateFunc gave (zero before).
func (c *Client) Identity() Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.identity
}

// Info returns the client's description.
func (c *Client) Info() ClientInfo {
	c.mu.Lock()
	ci := ClientInfo{ID: c.s.ID(), State: c.state, UserID: c.identity.UserID, Data: c.identity.Data, Local: true}
	c.mu.Unlock()
	ci.Rooms = c.s.Rooms()
	ci.Handshake = c.s.Handshake()
	return ci
}

// publish stores the state and identity in the socket data, which the
// cluster listing carries to the other nodes.
func (c *Client) publish() {
	c.mu.Lock()
	d := map[string]any{"state": c.state.String(), "userId": c.identity.UserID}
	if c.identity.Data != nil {
		d["data"] = c.identity.Data
	}
	c.mu.Unlock()
	c.s.SetData(d)
}

func (c *Client) onDeadline() {
	c.mu.Lock()
	expired := !c.stopped && c.state != StateAuthenticated
	c.mu.Unlock()
	if expired {
		lograte.Log(c.h.log, &c.h.logDeadline, slog.LevelInfo, "authentication deadline passed", "id", c.s.ID())
		c.s.Disconnect(false)
	}
}

// onPing sends one ping and schedules the next.
func (c *Client) onPing() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.ping = time.AfterFunc(c.h.opts.PingInterval, c.onPing)
	c.mu.Unlock()
	_ = c.s.Emit(EventPing, PingEvent{Time: isoTime(time.Now())})
}

// stop cancels the client's timers for good.
func (c *Client) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.deadline != nil {
		c.deadline.Stop()
		c.deadline = nil
	}
	if c.ping != nil {
		c.ping.Stop()
		c.ping = nil
	}
	c.mu.Unlock()
}
