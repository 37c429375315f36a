package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// Options configure Instrument. The zero value means the defaults, except that
// one of Auth and NoAuth must be set.
type Options struct {
	// Namespace is the admin namespace (default "/admin").
	Namespace string
	// Auth checks the username and password of the UI's login form (the
	// reference compares the password with a bcrypt hash). It runs on the
	// connecting admin socket's dispatcher goroutine, never under a lock.
	Auth func(username, password string) bool
	// NoAuth accepts every admin connection, as the reference's auth: false.
	// It must be set explicitly when Auth is nil.
	NoAuth bool
	// ReadOnly announces no command to the UI and ignores the commands
	// (emit, join, leave, _disconnect).
	ReadOnly bool
	// ServerID names the server in the stats (default the hostname).
	ServerID string
	// Production sends only the aggregated stats, as the reference's
	// "production" mode: no socket_connected, socket_disconnected, all_sockets,
	// event_received or event_sent, and no catch-all hooks on the sockets.
	Production bool
	// MaxSessions bounds the session ids handed out at login and remembered
	// so that the UI reconnects without the password (default 1000). Over it
	// the oldest is forgotten.
	MaxSessions int
	// StatsInterval is the period of server_stats (default 2s, as the
	// reference).
	StatsInterval time.Duration
	// CommandTimeout bounds each command's adapter operation (default 5s).
	CommandTimeout time.Duration
	// Rooms, when set, reports room joins and leaves (room_joined,
	// room_left; development mode): the server must have been made with
	// Rooms.Wrap as its adapter factory. See RoomEvents.
	Rooms *RoomEvents
	// Engine, when set, counts the Engine.IO connections, messages and
	// bytes as the reference does (rawConnection, rawDisconnection with the
	// Engine.IO reason, packetsIn, packetsOut, bytesIn, bytesOut): it must
	// also be the server's engineio.ServerOptions.Observer (through
	// socketio.ServerOptions.Engine), set before the server is created. See
	// EngineObserver.
	Engine *EngineObserver
}

// Defaults and limits.
const (
	DefaultNamespace      = "/admin"
	DefaultMaxSessions    = 1000
	DefaultStatsInterval  = 2 * time.Second
	DefaultCommandTimeout = 5 * time.Second
	// maxRoomQueue bounds the room changes waiting to be sent.
	maxRoomQueue = 4096
	// maxAggregated bounds the distinct aggregated-event entries (second,
	// type, reason) kept between two server_stats.
	maxAggregated = 256
)

// ErrNoAuth is returned by Instrument when neither Options.Auth nor
// Options.NoAuth is set.
var ErrNoAuth = errors.New("admin: Options.Auth is nil: set it, or set NoAuth to accept every admin")

// errInvalidCredentials is the reference's refusal message; the UI shows
// its login form again on exactly this text.
var errInvalidCredentials = errors.New("invalid credentials")

// Admin is the server side of the admin UI on one socketio.Server.
type Admin struct {
	srv      *socketio.Server
	nsp      *socketio.Namespace
	opts     Options
	start    time.Time
	hostname string
	pid      int

	mu       sync.Mutex
	sessions map[string]struct{}
	order    []string // session ids, oldest first
	hooked   map[*socketio.Namespace]struct{}
	clients  map[string]int // Engine.IO id -> its sockets seen connecting
	agg      map[aggKey]*AggregatedEvent
	closed   bool

	roomq  chan roomEvent
	cancel context.CancelFunc
	done   chan struct{}
}

type aggKey struct {
	ts      int64
	typ     string
	subType string
}

// Instrument serves the admin UI's protocol on srv's admin namespace, and
// starts the goroutine that sends server_stats; Close stops it.
func Instrument(srv *socketio.Server, opts *Options) (*Admin, error) {
	a := &Admin{srv: srv, start: time.Now(), pid: os.Getpid(),
		sessions: make(map[string]struct{}), hooked: make(map[*socketio.Namespace]struct{}),
		clients: make(map[string]int), agg: make(map[aggKey]*AggregatedEvent),
		done: make(chan struct{}), roomq: make(chan roomEvent, maxRoomQueue)}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.Auth == nil && !a.opts.NoAuth {
		return nil, ErrNoAuth
	}
	if a.opts.Namespace == "" {
		a.opts.Namespace = DefaultNamespace
	}
	if !strings.HasPrefix(a.opts.Namespace, "/") {
		a.opts.Namespace = "/" + a.opts.Namespace
	}
	if a.opts.MaxSessions <= 0 {
		a.opts.MaxSessions = DefaultMaxSessions
	}
	if a.opts.StatsInterval <= 0 {
		a.opts.StatsInterval = DefaultStatsInterval
	}
	if a.opts.CommandTimeout <= 0 {
		a.opts.CommandTimeout = DefaultCommandTimeout
	}
	a.hostname, _ = os.Hostname()
	if a.opts.ServerID == "" {
		a.opts.ServerID = a.hostname
	}
	a.nsp = srv.Of(a.opts.Namespace)
	if a.opts.Auth != nil {
		a.nsp.Use(a.authenticate)
	}
	a.nsp.OnConnection(a.onAdmin)
	if a.opts.Rooms != nil && !a.opts.Production {
		a.opts.Rooms.setSink(a.onRoom)
	}
	a.syncNamespaces()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go a.statsLoop(ctx)
	return a, nil
}

// Namespace returns the admin namespace.
func (a *Admin) Namespace() *socketio.Namespace { return a.nsp }

// Close stops the stats goroutine and the reports to the admin namespace,
// and forgets the sessions. The admin namespace stays (the server has no way
// to remove one): close the server or refuse it in a middleware to end the
// admins' connections. Close is idempotent.
func (a *Admin) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.sessions = map[string]struct{}{}
	a.order = nil
	a.mu.Unlock()
	a.cancel()
	<-a.done
	if a.opts.Rooms != nil {
		a.opts.Rooms.setSink(nil)
	}
	return nil
}

func (a *Admin) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// authenticate is the admin namespace's middleware: a known session id, or a
// username and password that Auth accepts (a new session id, sent to the
// socket as "session" once it is connected).
func (a *Admin) authenticate(s *socketio.Socket) error {
	var cred struct {
		SessionID string `json:"sessionId"`
		Username  string `json:"username"`
		Password  string `json:"password"`
	}
	if v, ok := s.Handshake().Auth.(interface{ Decode(any) error }); ok {
		_ = v.Decode(&cred)
	}
	if cred.SessionID != "" && a.hasSession(cred.SessionID) {
		return nil
	}
	if cred.Username == "" && cred.Password == "" {
		return errInvalidCredentials
	}
	if !a.opts.Auth(cred.Username, cred.Password) {
		return errInvalidCredentials
	}
	id, err := a.newSession()
	if err != nil {
		return err
	}
	s.SetData(adminData{session: id})
	return nil
}

// adminData is the data of an admin socket: the session id to send it, shown
// to the UI as an empty object.
type adminData struct{ session string }

func (adminData) MarshalJSON() ([]byte, error) { return []byte("{}"), nil }

func (a *Admin) hasSession(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.sessions[id]
	return ok
}

func (a *Admin) newSession() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return "", errInvalidCredentials
	}
	for len(a.order) >= a.opts.MaxSessions {
		delete(a.sessions, a.order[0])
		a.order = a.order[1:]
	}
	a.sessions[id] = struct{}{}
	a.order = append(a.order, id)
	return id, nil
}

// Features announced in config.
const (
	FeatureEmit             = "EMIT"
	FeatureJoin             = "JOIN"
	FeatureLeave            = "LEAVE"
	FeatureDisconnect       = "DISCONNECT"
	FeatureMJoin            = "MJOIN"
	FeatureMLeave           = "MLEAVE"
	FeatureMDisconnect      = "MDISCONNECT"
	FeatureAggregatedEvents = "AGGREGATED_EVENTS"
	FeatureAllEvents        = "ALL_EVENTS"
)

func (a *Admin) features() []string {
	var f []string
	if !a.opts.ReadOnly {
		f = append(f, FeatureEmit, FeatureJoin, FeatureLeave, FeatureDisconnect,
			FeatureMJoin, FeatureMLeave, FeatureMDisconnect)
	}
	f = append(f, FeatureAggregatedEvents)
	if !a.opts.Production {
		f = append(f, FeatureAllEvents)
	}
	return f
}

// onAdmin greets a new admin socket: its session id after a login, config,
// the sockets of every namespace (development mode) and the stats at once.
func (a *Admin) onAdmin(s *socketio.Socket) {
	if d, ok := s.Data().(adminData); ok && d.session != "" {
		_ = s.Emit("session", d.session)
	}
	_ = s.Emit("config", map[string]any{"supportedFeatures": a.features()})
	if !a.opts.ReadOnly {
		a.registerCommands(s)
	}
	if !a.opts.Production {
		ctx, cancel := context.WithTimeout(s.Context(), a.opts.CommandTimeout)
		socks := a.allSockets(ctx)
		cancel()
		_ = s.Emit("all_sockets", socks)
	}
	_ = s.Emit("server_stats", a.stats())
}

// lookup returns the existing namespace name, or nil: a command never
// creates a namespace.
func (a *Admin) lookup(name string) *socketio.Namespace {
	for _, n := range a.srv.Namespaces() {
		if n.Name() == name {
			return n
		}
	}
	return nil
}

// allSockets lists the sockets of every namespace (cluster-wide through each
// namespace's adapter).
func (a *Admin) allSockets(ctx context.Context) []SerializedSocket {
	out := []SerializedSocket{}
	for _, n := range a.srv.Namespaces() {
		remote, err := n.FetchSockets(ctx)
		if err != nil {
			continue
		}
		for _, r := range remote {
			ss := serializeInfo(n.Name(), r.ID, r.Handshake, r.Rooms, r.Data)
			if s := n.Socket(r.ID); s != nil {
				ss.ClientID = clientID(s.EngineID())
				ss.Transport = s.Transport()
			}
			out = append(out, ss)
		}
	}
	return out
}

// UIHandler serves the admin UI's static files from dir, the ui/dist
// directory of the npm package @socket.io/admin-ui. Mount it with
// http.StripPrefix under a path of its own.
func UIHandler(dir string) http.Handler { return http.FileServer(http.Dir(dir)) }
