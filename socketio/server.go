package socketio

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/lograte"
	"github.com/corvid-io/corvid/parser"
)

// ServerOptions configures a Server. The zero value of every field means the
// default written next to it (the defaults of npm socket.io 4.8). NewServer
// copies the options; a nil *ServerOptions means all defaults.
type ServerOptions struct {
	// Path is the URL path the server answers (default "/socket.io/"). It
	// overrides Engine.Path.
	Path string
	// ConnectTimeout closes an Engine.IO connection that has joined no
	// namespace this long after it opened (default 45s).
	ConnectTimeout time.Duration
	// Engine holds the Engine.IO options (ping interval and timeout, transports,
	// buffer sizes, CORS, send queue limits, ...); nil means their defaults.
	Engine *engineio.ServerOptions
	// Parser encodes and decodes packets (default parser.JSON; parser.Msgpack()
	// speaks with npm socket.io-msgpack-parser).
	Parser parser.Parser
	// Adapter creates the adapter of each namespace (default adapter.NewMemory).
	// Its error is the caller's: New and Server.Namespace return it, NewServer
	// and Server.Of panic with it.
	Adapter adapter.Factory
	// CleanupEmptyChildNamespaces removes a child of a dynamic namespace when
	// its last socket leaves.
	CleanupEmptyChildNamespaces bool
	// MaxDynamicNamespaces bounds the children of dynamic namespaces (OfRegexp,
	// OfFunc) the server holds at once (default 0: unlimited, as the
	// reference). A client connecting to a new name over the limit gets the
	// same CONNECT_ERROR as for a name no namespace accepts ("Invalid
	// namespace"). With CleanupEmptyChildNamespaces, a child removed frees its
	// place.
	MaxDynamicNamespaces int
	// MaxRoomsPerSocket bounds the rooms one socket may be in, its own room
	// (its id) not counted (default 0: unlimited, as the reference). A Join
	// that would go over it joins none of its rooms and returns
	// ErrTooManyRooms.
	MaxRoomsPerSocket int
	// ConnectionStateRecovery turns connection state recovery on (nil: off,
	// as in the reference). See RecoveryOptions.
	ConnectionStateRecovery *RecoveryOptions
	// Logger receives the errors nobody else sees: panics in user handlers,
	// adapter failures (default slog.Default()).
	Logger *slog.Logger
	// Observer, when set, sees connections, disconnections, ack timeouts,
	// recoveries and adapter failures (for metrics; see Observer). Its
	// methods must not block.
	Observer Observer
}

// ErrServerClosed is returned by operations on a server that was shut down.
var ErrServerClosed = errors.New("socketio: server closed")

// Server is a Socket.IO v5 server. It is an http.Handler: mount it at Path.
//
// Each Engine.IO connection has a reader (the Engine.IO session pushes each
// message to it, on a goroutine of the engine that exists while bytes arrive)
// that decodes packets and resolves acknowledgements, and one dispatcher
// goroutine, while calls are queued, that runs the user's handlers of every
// socket of that connection in order, outside any lock. A slow handler
// therefore delays only its own connection.
type Server struct {
	opts   ServerOptions
	engine *engineio.Server
	log    *slog.Logger
	// panicLog rate-limits the panic lines a client can cause (each
	// carries a stack).
	panicLog lograte.Limiter

	mu      sync.Mutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace
	conns   map[*conn]struct{}
	dynamic int // children of dynamic namespaces in nsps
	closed  bool

	wg sync.WaitGroup // dispatcher goroutines

	adapterLog lograte.Limiter // adapter failures a client's connect can repeat

}

// NewServer returns a server with the main namespace "/" created. It panics
// when ServerOptions.Adapter fails for "/" (never with the default in-memory
// adapter); New returns that error instead.
func NewServer(opts *ServerOptions) *Server {
	s, err := New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// New is NewServer returning the adapter factory's error for the main
// namespace (an *AdapterError) instead of panicking.
func New(opts *ServerOptions) (*Server, error) {
	s := &Server{nsps: make(map[string]*Namespace), conns: make(map[*conn]struct{})}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Path == "" {
		s.opts.Path = "/socket.io/"
	}
	if !strings.HasSuffix(s.opts.Path, "/") {
		s.opts.Path += "/"
	}
	if s.opts.ConnectTimeout <= 0 {
		s.opts.ConnectTimeout = 45 * time.Second
	}
	if s.opts.Parser == nil {
		s.opts.Parser = parser.JSON
	}
	if r := s.opts.ConnectionStateRecovery; r != nil {
		rc := *r
		if rc.MaxDisconnectionDuration <= 0 {
			rc.MaxDisconnectionDuration = 2 * time.Minute
		}
		s.opts.ConnectionStateRecovery = &rc
		if s.opts.Adapter == nil {
			s.opts.Adapter = adapter.NewMemorySessions(&adapter.SessionOptions{
				MaxDisconnectionDuration: rc.MaxDisconnectionDuration,
				MaxPackets:               rc.MaxPackets,
				MaxBytes:                 rc.MaxBytes,
				MaxSessions:              rc.MaxSessions,
			})
		}
	}
	if s.opts.Adapter == nil {
		s.opts.Adapter = adapter.NewMemory
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	var eopts engineio.ServerOptions
	if s.opts.Engine != nil {
		eopts = *s.opts.Engine
	}
	eopts.Path = s.opts.Path
	s.engine = engineio.NewServer(s.handleSession, &eopts)
	if _, err := s.Namespace("/"); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP serves the Engine.IO transports. A request outside Path gets a
// 404 whose body names the path the server answers under, since the usual
// cause is a server mounted at another path than its ServerOptions.Path (or a
// client whose Path option differs).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; !strings.HasPrefix(p, s.opts.Path) && p+"/" != s.opts.Path {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		http.Error(w, "404 page not found: this Socket.IO server answers under "+strconv.Quote(s.opts.Path)+
			" (ServerOptions.Path; a client's Path option must be the same)", http.StatusNotFound)
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// Of returns the namespace name, creating it when it does not exist. A name
// without a leading slash gets one. It panics when the namespace is new and
// ServerOptions.Adapter fails for it (never with the default in-memory
// adapter); Namespace returns that error instead.
func (s *Server) Of(name string) *Namespace {
	n, err := s.Namespace(name)
	if err != nil {
		panic(err)
	}
	return n
}

// Namespace is Of returning the adapter factory's error (an *AdapterError)
// instead of panicking. The namespace is not created then; a later call tries
// again.
func (s *Server) Namespace(name string) (*Namespace, error) {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	return s.namespace(name, nil)
}

// namespace returns the namespace name, creating it (as a child of parent when
// not nil) when it does not exist. The adapter is made outside the server's
// lock, since a cluster adapter's factory may do I/O; a namespace made by a
// lost race is closed.
//
// A new dynamic child over MaxDynamicNamespaces is not created: nil, nil. The
// adapter factory's error is returned.
func (s *Server) namespace(name string, parent *ParentNamespace) (*Namespace, error) {
	s.mu.Lock()
	n := s.nsps[name]
	full := parent != nil && s.dynamicFullLocked()
	s.mu.Unlock()
	if n != nil {
		return n, nil
	}
	if full {
		return nil, nil
	}
	fresh, err := newNamespace(s, name, parent)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if n = s.nsps[name]; n == nil {
		if full = parent != nil && s.dynamicFullLocked(); !full {
			s.nsps[name] = fresh
			if parent != nil {
				s.dynamic++
			}
		}
	}
	s.mu.Unlock()
	if n != nil || full {
		if err := fresh.adapter.Close(context.Background()); err != nil {
			s.log.Error("socketio: closing the adapter of a namespace made twice", "nsp", name, "err", err)
		}
		return n, nil
	}
	if parent != nil {
		parent.addChild(fresh)
	}
	return fresh, nil
}

// OfRegexp returns a dynamic namespace: a client connecting to a name that re
// matches gets a child namespace of that name, created on demand, which shares
// the parent's middleware and connection handlers.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(name string, _ parser.Value) bool { return re.MatchString(name) })
}

// NamespaceMatcher decides whether a dynamic namespace accepts the name a
// client connects to (auth is its CONNECT payload, nil when none). It runs on
// the connection's dispatcher goroutine.
type NamespaceMatcher func(name string, auth parser.Value) bool

// OfFunc returns a dynamic namespace whose children are the names match accepts.
func (s *Server) OfFunc(match NamespaceMatcher) *ParentNamespace {
	p := newParentNamespace(s, match)
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// Use adds a connect middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.Of("/").Use(m) }

// OnConnection adds a connection handler to the main namespace.
func (s *Server) OnConnection(h ConnectionHandler) { s.Of("/").OnConnection(h) }

// lookupNamespace returns the namespace name, creating a dynamic child when a
// parent accepts it, or nil.
func (s *Server) lookupNamespace(name string, auth parser.Value) *Namespace {
	s.mu.Lock()
	n := s.nsps[name]
	parents := s.parents
	s.mu.Unlock()
	if n != nil {
		return n
	}
	for _, p := range parents {
		if p.match(name, auth) {
			n, err := s.namespace(name, p)
			if err != nil {
				// the server's fault, not the client's: the operator sees it
				// (rate-limited: clients may retry fast), the client gets
				// the CONNECT_ERROR of an unknown name
				lograte.Log(s.log, &s.adapterLog, slog.LevelError, "socketio: dynamic namespace not created", "nsp", name, "err", err)
			}
			return n
		}
	}
	return nil
}

// dynamicFullLocked reports whether MaxDynamicNamespaces children exist.
func (s *Server) dynamicFullLocked() bool {
	return s.opts.MaxDynamicNamespaces > 0 && s.dynamic >= s.opts.MaxDynamicNamespaces
}

func (s *Server) removeNamespace(n *Namespace) {
	s.mu.Lock()
	if s.nsps[n.name] == n {
		delete(s.nsps, n.name)
		if n.parent != nil {
			s.dynamic--
		}
	}
	s.mu.Unlock()
	if n.parent != nil {
		n.parent.removeChild(n)
	}
	if err := n.adapter.Close(context.Background()); err != nil {
		s.log.Error("socketio: closing the adapter of a removed namespace", "nsp", n.name, "err", err)
	}
}

func (s *Server) handleSession(sess *engineio.Session) { s.serveSession(sess) }

// serveSession serves one Engine.IO session until it ends.
func (s *Server) serveSession(sess session) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = sess.Close()
		return
	}
	c := newConn(s, sess)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}
	c.receive(done) // returns at once; done runs after the last handler call
}

// Shutdown disconnects every socket with ReasonServerShuttingDown, closes the
// Engine.IO server and the namespaces' adapters, and returns when every
// goroutine of the server has ended, or ctx's error when ctx ends first. The
// adapters' errors are returned (as *AdapterError, joined). It is idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeAll(ReasonServerShuttingDown)
	}
	err := s.engine.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()
	for _, n := range nsps {
		if cerr := n.adapter.Close(ctx); cerr != nil {
			err = errors.Join(err, &AdapterError{Namespace: n.name, Err: cerr})
		}
	}
	return err
}
