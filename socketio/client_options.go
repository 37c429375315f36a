package socketio

import (
	"net/http"
	"net/url"
	"time"

	"github.com/corvid-io/corvid/parser"
)

// ManagerOptions configure a Manager: the Engine.IO connection it dials and its
// reconnection policy. The zero value (or a nil pointer) means socket.io-client's
// defaults; NewManager copies the struct before filling them in.
type ManagerOptions struct {
	// Path is the server's Engine.IO path. Default "/socket.io/".
	Path string
	// Transports are the transports to try, in order. Default polling then
	// websocket (the reference's default without WebTransport).
	Transports []string
	// DisableUpgrade keeps the first transport (no polling to websocket upgrade).
	DisableUpgrade bool
	// RememberUpgrade starts with websocket when a previous connection upgraded.
	RememberUpgrade bool
	// Query is added to the handshake URL (with the query of the URL itself).
	Query url.Values
	// ExtraHeaders are sent with every HTTP request and the websocket handshake.
	ExtraHeaders http.Header
	// HTTPClient is used for polling and the websocket handshake. Default
	// http.DefaultClient.
	HTTPClient *http.Client
	// Parser encodes and decodes Socket.IO packets; it must match the server's.
	// Default parser.JSON (parser.Msgpack() for socket.io-msgpack-parser).
	Parser parser.Parser
	// Timeout bounds one connection attempt (dial and Engine.IO handshake).
	// Default 20 s, like the reference's timeout option.
	Timeout time.Duration

	// DisableReconnection turns automatic reconnection off (the reference's
	// reconnection: false).
	DisableReconnection bool
	// ReconnectionAttempts is the number of attempts before giving up (the
	// reconnect failed event). Default 0: unlimited.
	ReconnectionAttempts int
	// ReconnectionDelay is the first delay between attempts. Default 1 s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the delay, which doubles after each attempt.
	// Default 5 s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor spreads each delay by up to ± that fraction. Default
	// 0.5; a negative value means no randomization. Values above 1 mean 1.
	RandomizationFactor float64

	// DispatchQueue is the number of received events waiting for their handlers
	// beyond which the read loop waits for the handlers to catch up
	// (backpressure). Default 1024.
	DispatchQueue int
}

// ClientSocketOptions configure one namespace socket of a Manager.
type ClientSocketOptions struct {
	// Auth is sent with every CONNECT packet (the handshake's auth object). Nil
	// sends none.
	Auth any
	// AuthFunc, when set, is called before every connection and reconnection,
	// and its result is sent instead of Auth (so a token can be refreshed). It
	// runs on one of the Manager's goroutines, never under a lock.
	AuthFunc func() any
	// AckTimeout is the default timeout of acknowledgements (and, with Retries,
	// of each try). Zero means none, unless the emit sets one (Timeout).
	AckTimeout time.Duration
	// Retries, when positive, makes every non-volatile emit go through a queue
	// in which only the head packet is in flight: it is resent (with a new ack
	// id) when its ack times out or the connection is restored, up to Retries
	// more times, so each packet is delivered at least once and in order.
	Retries int
	// MaxBuffered bounds the emits kept while disconnected (and the retry
	// queue). Over it, emits fail with ErrClientBufferFull. Default 1024.
	MaxBuffered int
}

// ClientOptions are the options of Connect and NewClientSocket: those of the
// Manager (when a new one is made), those of the namespace socket, and the
// cache policy.
type ClientOptions struct {
	ManagerOptions
	ClientSocketOptions
	// ForceNew makes a new Manager (a new Engine.IO connection) instead of
	// reusing the cached one of the same server. Connect and NewClientSocket
	// without a ClientCache always make a new one.
	ForceNew bool
}

const (
	clientDefaultPath          = "/socket.io/"
	clientDefaultTimeout       = 20 * time.Second
	clientDefaultDelay         = time.Second
	clientDefaultDelayMax      = 5 * time.Second
	clientDefaultRandomization = 0.5
	clientDefaultDispatchQueue = 1024
	clientDefaultMaxBuffered   = 1024
)

// withDefaults returns a copy of o (nil allowed) with the defaults filled in.
func (o *ManagerOptions) withDefaults() ManagerOptions {
	var c ManagerOptions
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = clientDefaultPath
	}
	if c.Parser == nil {
		c.Parser = parser.JSON
	}
	if c.Timeout <= 0 {
		c.Timeout = clientDefaultTimeout
	}
	if c.ReconnectionDelay <= 0 {
		c.ReconnectionDelay = clientDefaultDelay
	}
	if c.ReconnectionDelayMax <= 0 {
		c.ReconnectionDelayMax = clientDefaultDelayMax
	}
	switch {
	case c.RandomizationFactor == 0:
		c.RandomizationFactor = clientDefaultRandomization
	case c.RandomizationFactor < 0:
		c.RandomizationFactor = 0
	case c.RandomizationFactor > 1:
		c.RandomizationFactor = 1
	}
	if c.DispatchQueue <= 0 {
		c.DispatchQueue = clientDefaultDispatchQueue
	}
	c.Transports = append([]string(nil), c.Transports...)
	c.Query = clientCloneValues(c.Query)
	c.ExtraHeaders = c.ExtraHeaders.Clone()
	return c
}

func (o *ClientSocketOptions) withDefaults() ClientSocketOptions {
	var c ClientSocketOptions
	if o != nil {
		c = *o
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = clientDefaultMaxBuffered
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.AckTimeout < 0 {
		c.AckTimeout = 0
	}
	return c
}

func clientCloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
