package engineio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Transport names, as they appear in the transport query parameter, in
// DialOptions.Transports and in the upgrades of the open packet.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Client defaults.
const (
	defaultClientPath        = "/engine.io/"
	defaultMaxQueuedMessages = 4096
	defaultClientReadLimit   = 100 << 20
	clientCloseTimeout       = 5 * time.Second
	clientInboxSize          = 64
)

// Client errors. Read and Send on a closed Conn return an error that wraps the close
// Reason (errors.Is(err, ReasonPingTimeout), context.Cause(conn.Context())).
var (
	// ErrHandshake is wrapped by Dial's errors when the server refused the handshake
	// or answered it with something other than an open packet.
	ErrHandshake = errors.New("engineio: handshake failed")
	// ErrUnknownTransport is returned by Dial for a transport name it does not know.
	ErrUnknownTransport = errors.New("engineio: unknown transport")
)

// HandshakeError is Dial's error when the server answered the opening request
// with an HTTP status other than the one the transport expects (200 for
// polling, 101 for websocket). errors.Is(err, ErrHandshake) holds. A 404
// usually means the server is mounted at another path than DialOptions.Path:
// the error says so.
type HandshakeError struct {
	Transport string // TransportPolling or TransportWebSocket
	Path      string // the request's path
	Status    int    // the HTTP status of the answer
	Body      string // the start of the answer's body (at most 200 bytes), when read
}

func (e *HandshakeError) Error() string {
	msg := "engineio: handshake failed: " + e.Transport + " request to " + strconv.Quote(e.Path) +
		" answered " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
	if e.Status == http.StatusNotFound {
		return msg + " (no Engine.IO server at this path: set the client's Path option to the path the server is mounted at)"
	}
	if e.Body != "" {
		msg += ": " + strconv.Quote(e.Body)
	}
	return msg
}

// Is makes errors.Is(err, ErrHandshake) true.
func (e *HandshakeError) Is(target error) bool { return target == ErrHandshake }

// handshakeErr wraps the error of a failed opening request: a status error
// becomes a *HandshakeError, any other (the network's, ctx's) is kept as the
// cause of ErrHandshake, on one line.
func handshakeErr(transport, path string, err error) error {
	var se *clientStatusError
	if errors.As(err, &se) {
		return &HandshakeError{Transport: transport, Path: path, Status: se.status, Body: se.body}
	}
	var he *HandshakeError
	if errors.As(err, &he) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrHandshake, err)
}

// DialOptions configures Dial. The zero value (or nil) means every default; Dial
// copies the options before filling the defaults.
type DialOptions struct {
	// Path is the Engine.IO endpoint path, "/engine.io/" when empty. The path of the
	// URL given to Dial is ignored, as in the reference client.
	Path string

	// Transports lists the transports to use, in order: the first one opens the
	// connection. Default: polling, then websocket.
	Transports []string

	// DisableUpgrade stops the client from upgrading a polling connection to
	// websocket (the reference client's upgrade: false).
	DisableUpgrade bool

	// RememberUpgrade starts with websocket directly when an earlier websocket
	// connection or upgrade to the same host succeeded (and no websocket attempt to it
	// failed since), as the reference client's rememberUpgrade.
	RememberUpgrade bool

	// Query holds extra query parameters, sent on every request (in addition to
	// those of the URL given to Dial).
	Query url.Values

	// ExtraHeaders are sent on every HTTP request and on the websocket handshake.
	ExtraHeaders http.Header

	// HTTPClient is used for polling requests and the websocket handshake;
	// http.DefaultClient when nil. Its Jar, if any, carries cookies (sticky sessions).
	HTTPClient *http.Client

	// MaxQueuedMessages bounds the messages accepted by Send and not yet handed to
	// the transport; 4096 when zero. Going over it closes the connection with
	// ReasonSlowConsumer.
	MaxQueuedMessages int

	// ReadLimit bounds one received websocket message and one polling response body,
	// in bytes; 100 MiB when zero. A larger one closes the connection.
	ReadLimit int64
}

func (o *DialOptions) cloneWithDefaults() (*DialOptions, error) {
	var c DialOptions
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = defaultClientPath
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	for _, t := range c.Transports {
		if t != TransportPolling && t != TransportWebSocket {
			return nil, errors.Join(ErrUnknownTransport, errors.New("engineio: transport "+strconv.Quote(t)))
		}
	}
	c.Query = cloneQuery(c.Query)
	c.ExtraHeaders = c.ExtraHeaders.Clone()
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.MaxQueuedMessages <= 0 {
		c.MaxQueuedMessages = defaultMaxQueuedMessages
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = defaultClientReadLimit
	}
	return &c, nil
}

// OpenInfo holds the values of the server's open packet.
type OpenInfo struct {
	SID          string
	Upgrades     []string      // transports the server offers to upgrade to
	PingInterval time.Duration // the server pings this often
	PingTimeout  time.Duration // and waits this long for the pong
	MaxPayload   int           // bytes the server accepts in one polling POST
}

// Conn is a client Engine.IO connection, opened by Dial. Its methods are safe for
// concurrent use.
//
// The caller must keep calling Read: received messages wait in a small bounded
// queue, and while it is full the connection stops reading from the server (which
// also delays the answers to the server's pings).
type Conn struct {
	opts     *DialOptions
	info     OpenInfo
	base     *url.URL // scheme, host, path and the query shared by every request
	upKey    string   // host key for RememberUpgrade
	hbPeriod time.Duration

	transport atomic.Int32 // connOnPolling or connOnWebSocket

	ctx    context.Context // Context(), cancelled with the Reason as cause
	cancel context.CancelCauseFunc
	ioCtx  context.Context // every request and websocket operation; cancelled at teardown
	ioStop context.CancelFunc

	inbox    chan Message        // received messages, filled by the transport readers
	events   chan clientEvent    // transport goroutines -> loop
	writeCh  chan clientWriteJob // loop -> writer (at most one job in flight)
	wake     chan struct{}       // Send -> loop
	abort    chan Reason         // Send -> loop (slow consumer)
	closeReq chan struct{}       // Close -> loop
	closed   chan struct{}       // closed once the close reason is set
	done     chan struct{}       // closed once every goroutine has ended

	closeOnce sync.Once
	wg        sync.WaitGroup // goroutines other than the loop

	mu       sync.Mutex
	queue    []Packet // accepted by Send, not yet handed to the writer
	closing  bool     // Close was called
	reason   Reason   // set once, at close
	closeErr error    // what Read and Send return after close
}

const (
	connOnPolling int32 = iota
	connOnWebSocket
)

// Dial opens an Engine.IO connection to rawURL (http, https, ws or wss; only its
// scheme, host and query are used) and returns once the server's open packet has
// arrived. ctx bounds the handshake only; the connection lives until Close or until
// it fails, which Context reports.
//
// The first of opts.Transports opens the connection. A polling connection then
// probes websocket and upgrades to it when the server offers it, unless
// DisableUpgrade is set; messages sent meanwhile are kept and written, in order, on
// the new transport.
func Dial(ctx context.Context, rawURL string, opts *DialOptions) (*Conn, error) {
	o, err := opts.cloneWithDefaults()
	if err != nil {
		return nil, err
	}
	base, err := clientBaseURL(rawURL, o)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		opts:     o,
		base:     base,
		upKey:    base.Host,
		inbox:    make(chan Message, clientInboxSize),
		events:   make(chan clientEvent, 16),
		writeCh:  make(chan clientWriteJob, 1),
		wake:     make(chan struct{}, 1),
		abort:    make(chan Reason, 1),
		closeReq: make(chan struct{}),
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	first := o.Transports[0]
	if o.RememberUpgrade && slices.Contains(o.Transports, TransportWebSocket) && upgradeRemembered(c.upKey) {
		first = TransportWebSocket
	}
	var (
		ws   *websocket.Conn
		rest []byte // packets that followed the open packet in the polling handshake
	)
	if first == TransportWebSocket {
		ws, err = c.dialWebSocket(ctx)
		if err != nil {
			forgetUpgrade(c.upKey)
			return nil, err
		}
		rememberUpgrade(c.upKey)
		c.transport.Store(connOnWebSocket)
	} else {
		rest, err = c.pollingHandshake(ctx)
		if err != nil {
			return nil, err
		}
	}
	c.hbPeriod = c.info.PingInterval + c.info.PingTimeout
	c.ctx, c.cancel = context.WithCancelCause(context.Background())
	c.ioCtx, c.ioStop = context.WithCancel(context.Background())

	l := &clientLoop{c: c, ws: ws}
	c.wg.Add(1)
	go c.writer()
	go l.run(rest)
	return c, nil
}

// ID returns the session id the server assigned.
func (c *Conn) ID() string { return c.info.SID }

// OpenInfo returns the values of the server's open packet.
func (c *Conn) OpenInfo() OpenInfo {
	info := c.info
	info.Upgrades = slices.Clone(info.Upgrades)
	return info
}

// Transport returns the current transport: "polling" or "websocket" (after an
// upgrade, or when the connection was opened over websocket).
func (c *Conn) Transport() string {
	if c.transport.Load() == connOnWebSocket {
		return TransportWebSocket
	}
	return TransportPolling
}

// Context returns a context cancelled when the connection closes; its cause
// (context.Cause) is the close Reason.
func (c *Conn) Context() context.Context { return c.ctx }

// Read returns the next message from the server. It blocks until one arrives, ctx
// ends (ctx.Err() is returned and the connection stays open) or the connection
// closes: messages received before the close are returned first, then an error that
// wraps the close Reason. The returned Data belongs to the caller.
func (c *Conn) Read(ctx context.Context) (Message, error) {
	select {
	case m := <-c.inbox:
		return m, nil
	default:
	}
	select {
	case m := <-c.inbox:
		return m, nil
	case <-c.closed:
		select {
		case m := <-c.inbox:
			return m, nil
		default:
		}
		return Message{}, c.err()
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Send queues msgs to be written, together and in order, and returns without
// waiting for the network. The connection keeps msgs' Data until it is written, so
// the caller must not modify it afterwards. Messages sent during an upgrade are
// written on the new transport. When the queue would go over MaxQueuedMessages the
// connection closes with ReasonSlowConsumer and Send returns that error; on a
// closed connection Send returns an error wrapping the close Reason.
func (c *Conn) Send(msgs ...Message) error {
	c.mu.Lock()
	if c.reason != "" {
		c.mu.Unlock()
		return c.err()
	}
	if c.closing {
		c.mu.Unlock()
		return &CloseError{Reason: ReasonForcedClose}
	}
	if len(c.queue)+len(msgs) > c.opts.MaxQueuedMessages {
		c.mu.Unlock()
		select {
		case c.abort <- ReasonSlowConsumer:
		default:
		}
		return &CloseError{Reason: ReasonSlowConsumer}
	}
	for _, m := range msgs {
		c.queue = append(c.queue, Packet{Type: PacketMessage, Binary: m.Binary, Data: m.Data})
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// Close writes what Send queued and a close packet (within a few seconds at most;
// over polling the close packet goes in a request of its own, after the others,
// as the reference client sends it), closes the transport and returns once every goroutine of the connection has
// ended. The close Reason is ReasonForcedClose unless the connection had already
// closed. Close is idempotent and always returns nil.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = true
		c.mu.Unlock()
		close(c.closeReq)
	})
	<-c.done
	return nil
}

func (c *Conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// CloseError is the error Read and Send return once the connection is closed: it
// wraps the close Reason and, when there is one, the transport error that caused it.
type CloseError struct {
	Reason Reason
	Err    error // the underlying error, or nil
}

func (e *CloseError) Error() string {
	s := "engineio: connection closed: " + string(e.Reason)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the Reason and the underlying error.
func (e *CloseError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Reason}
	}
	return []error{e.Reason, e.Err}
}

// clientBaseURL builds the URL shared by every request: scheme http(s), the host,
// the endpoint path and the query with EIO=4 and the user's parameters.
func clientBaseURL(rawURL string, o *DialOptions) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.Join(errors.New("engineio: bad url"), err)
	}
	switch u.Scheme {
	case "http", "https":
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, errors.New("engineio: bad url scheme " + strconv.Quote(u.Scheme))
	}
	if u.Host == "" {
		return nil, errors.New("engineio: url without host")
	}
	q := u.Query()
	for k, vs := range o.Query {
		q[k] = append(q[k][:0:0], vs...)
	}
	q.Set("EIO", "4")
	q.Del("transport")
	q.Del("sid")
	return &url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: o.Path, RawQuery: q.Encode()}, nil
}

// requestURL returns the URL of a request on transport, with the session id when sid
// is set.
func (c *Conn) requestURL(transport string, withSID bool) string {
	u := *c.base
	if transport == TransportWebSocket {
		if u.Scheme == "https" {
			u.Scheme = "wss"
		} else {
			u.Scheme = "ws"
		}
	}
	extra := "transport=" + transport
	if withSID {
		extra += "&sid=" + url.QueryEscape(c.info.SID)
	}
	if u.RawQuery == "" {
		u.RawQuery = extra
	} else {
		u.RawQuery += "&" + extra
	}
	return u.String()
}

func cloneQuery(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// The RememberUpgrade memory: hosts where the last websocket attempt succeeded.
// Like the reference client's, it is shared by every connection of the process.
var upgradeMemory struct {
	sync.Mutex
	hosts map[string]struct{}
}

const maxRememberedHosts = 1024

func upgradeRemembered(host string) bool {
	upgradeMemory.Lock()
	defer upgradeMemory.Unlock()
	_, ok := upgradeMemory.hosts[host]
	return ok
}

func rememberUpgrade(host string) {
	upgradeMemory.Lock()
	defer upgradeMemory.Unlock()
	if upgradeMemory.hosts == nil {
		upgradeMemory.hosts = make(map[string]struct{})
	}
	if _, ok := upgradeMemory.hosts[host]; !ok && len(upgradeMemory.hosts) >= maxRememberedHosts {
		for h := range upgradeMemory.hosts { // drop any one: the memory is only a hint
			delete(upgradeMemory.hosts, h)
			break
		}
	}
	upgradeMemory.hosts[host] = struct{}{}
}

func forgetUpgrade(host string) {
	upgradeMemory.Lock()
	defer upgradeMemory.Unlock()
	delete(upgradeMemory.hosts, host)
}
