package engineio

import (
	"net/http"
	"strings"
	"time"
)

// ServerOptions configures a Server. The zero value of every field means the
// default written next to it (the defaults of npm engine.io 6.6). NewServer copies
// the options; a nil *ServerOptions means all defaults.
type ServerOptions struct {
	// Path is the URL path prefix the server answers (default "/engine.io/"; a
	// trailing slash is added). Socket.IO uses "/socket.io/". Requests whose path
	// does not start with it get 404.
	Path string

	// PingInterval is the time between two server pings (default 25s).
	PingInterval time.Duration
	// PingTimeout is how long a pong may take after a ping before the session is
	// closed with ReasonPingTimeout (default 20s).
	PingTimeout time.Duration
	// UpgradeTimeout bounds the polling -> WebSocket upgrade (default 10s).
	UpgradeTimeout time.Duration

	// MaxHTTPBufferSize is the largest POST body and WebSocket message accepted,
	// in bytes, advertised as maxPayload (default 1e6).
	MaxHTTPBufferSize int

	// Transports lists the enabled transports, among "polling" and "websocket"
	// (default both).
	Transports []string
	// DisableUpgrades stops polling sessions from upgrading to WebSocket.
	DisableUpgrades bool

	// AllowRequest, when set, is called for each handshake (a request without a
	// sid). A non-nil error refuses it: HTTP 403 with
	// {"code":4,"message":<err.Error()>} ("Forbidden" when the text is empty).
	// It must not retain r.
	AllowRequest func(r *http.Request) error

	// CORS, when set, adds CORS headers to every response, answers preflight
	// OPTIONS requests with 204, and governs which Origins may open a WebSocket.
	// By default no CORS header is sent and WebSockets are accepted only from the
	// request's own host or without an Origin header.
	CORS *CORSOptions

	// Cookie, when set, makes the polling handshake response set a cookie holding
	// the session id (for sticky load balancing). Off by default.
	Cookie *CookieOptions

	// DisableHTTPCompression turns off gzip/deflate of polling responses (on by
	// default, for bodies of at least HTTPCompressionThreshold bytes when the
	// client accepts it).
	DisableHTTPCompression bool
	// HTTPCompressionThreshold is the smallest polling body compressed (default 1024).
	HTTPCompressionThreshold int

	// PerMessageDeflate enables WebSocket permessage-deflate (off by default),
	// without context takeover, for messages of at least 1024 bytes.
	PerMessageDeflate bool

	// MaxSendQueueBytes bounds the bytes queued for one session and not yet written
	// (default 16 MiB). Going over it closes the session with ReasonSlowConsumer
	// (Send) or drops the message (TrySend).
	MaxSendQueueBytes int
	// MaxSendQueueLen bounds the packets queued for one session (default 4096),
	// with the same policy.
	MaxSendQueueLen int

	// MaxSessions bounds the sessions the server holds at once (default 0:
	// unlimited, as the reference). A handshake over it is refused as an
	// AllowRequest refusal is: HTTP 403 {"code":4,"message":"Too many
	// sessions"} (for a WebSocket upgrade request, 400 with the bare message,
	// as the reference refuses upgrades), and no session is created.
	MaxSessions int
	// HandshakeRate bounds new sessions per second, server-wide (default 0:
	// unlimited), with bursts of up to HandshakeBurst (default HandshakeRate,
	// at least 1). A handshake over it is refused with HTTP 403
	// {"code":4,"message":"Too many handshakes"}; the sessions already open are
	// not affected.
	HandshakeRate float64
	// HandshakeBurst is the burst allowed by HandshakeRate.
	HandshakeBurst int

	// MaxSessionsPerIP bounds the sessions of one client IP (the
	// handshake's RemoteIP; behind a proxy, the proxy's) (default 0: off).
	// A handshake over it is refused as one over MaxSessions is.
	MaxSessionsPerIP int
	// HandshakeRatePerIP bounds new sessions per second from one client IP
	// (default 0: off), with bursts of up to HandshakeBurstPerIP (default
	// HandshakeRatePerIP, at least 1). A handshake over it is refused as one
	// over HandshakeRate is. An IP's bucket is forgotten once the IP has no
	// session and the bucket would be full again.
	HandshakeRatePerIP float64
	// HandshakeBurstPerIP is the burst allowed by HandshakeRatePerIP.
	HandshakeBurstPerIP int

	// MaxHandshakeHeaderBytes bounds the request URL and header fields of a
	// handshake, the bytes of their names and values as Node's
	// maxHeaderSize counts them (default 16 KiB, Node's default). A
	// handshake over it is answered as Node's HTTP server answers: 431
	// (Request Header Fields Too Large) and "Connection: close"; no session
	// is created. What a session keeps of its handshake (Handshake) is thus
	// bounded too. Other requests are bounded by the http.Server's
	// MaxHeaderBytes only.
	MaxHandshakeHeaderBytes int

	// Observer, when set, sees the server's sessions, refused requests and
	// messages (for metrics; see Observer). Its methods must not block.
	Observer Observer
}

// CORSOptions are the CORS settings of a Server (the subset of the npm cors
// package that engine.io users rely on).
type CORSOptions struct {
	// Origins lists the allowed origins ("https://example.com"); "*" allows any
	// origin and is sent as "*".
	Origins []string
	// AllowOrigin, when set, decides instead of Origins. It must be safe for
	// concurrent use.
	AllowOrigin func(origin string) bool
	// Credentials sends Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods for preflight responses (default GET,HEAD,PUT,PATCH,POST,DELETE).
	Methods []string
	// AllowedHeaders for preflight responses (default: the request's
	// Access-Control-Request-Headers, reflected).
	AllowedHeaders []string
	// ExposedHeaders, sent as Access-Control-Expose-Headers.
	ExposedHeaders []string
	// MaxAge of a preflight result (default: not sent).
	MaxAge time.Duration
}

// CookieOptions describe the session cookie (see ServerOptions.Cookie).
type CookieOptions struct {
	Name            string        // default "io"
	Path            string        // default "/"
	Domain          string        // default none
	MaxAge          time.Duration // default: a session cookie
	Secure          bool
	SameSite        http.SameSite // default Lax
	DisableHTTPOnly bool          // HttpOnly is on by default
}

const (
	pollingName   = "polling"
	websocketName = "websocket"
)

// options are the filled-in ServerOptions.
type options struct {
	ServerOptions
	polling, websocket bool
}

func newOptions(o *ServerOptions) *options {
	var opts options
	if o != nil {
		opts.ServerOptions = *o
	}
	if opts.Path == "" {
		opts.Path = "/engine.io/"
	}
	if !strings.HasSuffix(opts.Path, "/") {
		opts.Path += "/"
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 25 * time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 20 * time.Second
	}
	if opts.UpgradeTimeout <= 0 {
		opts.UpgradeTimeout = 10 * time.Second
	}
	if opts.MaxHTTPBufferSize <= 0 {
		opts.MaxHTTPBufferSize = 1e6
	}
	if len(opts.Transports) == 0 {
		opts.Transports = []string{pollingName, websocketName}
	}
	opts.Transports = append([]string(nil), opts.Transports...)
	for _, t := range opts.Transports {
		switch t {
		case pollingName:
			opts.polling = true
		case websocketName:
			opts.websocket = true
		}
	}
	if opts.HTTPCompressionThreshold <= 0 {
		opts.HTTPCompressionThreshold = 1024
	}
	if opts.MaxSendQueueBytes <= 0 {
		opts.MaxSendQueueBytes = 16 << 20
	}
	if opts.MaxSendQueueLen <= 0 {
		opts.MaxSendQueueLen = 4096
	}
	if opts.MaxSessions < 0 {
		opts.MaxSessions = 0
	}
	if opts.MaxHandshakeHeaderBytes <= 0 {
		opts.MaxHandshakeHeaderBytes = 16 << 10
	}
	if opts.HandshakeRate > 0 && opts.HandshakeBurst <= 0 {
		opts.HandshakeBurst = max(1, int(opts.HandshakeRate))
	}
	if opts.MaxSessionsPerIP < 0 {
		opts.MaxSessionsPerIP = 0
	}
	if opts.HandshakeRatePerIP > 0 && opts.HandshakeBurstPerIP <= 0 {
		opts.HandshakeBurstPerIP = max(1, int(opts.HandshakeRatePerIP))
	}
	if opts.CORS != nil {
		c := *opts.CORS
		opts.CORS = &c
	}
	if opts.Cookie != nil {
		c := *opts.Cookie
		if c.Name == "" {
			c.Name = "io"
		}
		if c.Path == "" {
			c.Path = "/"
		}
		if c.SameSite == 0 {
			c.SameSite = http.SameSiteLaxMode
		}
		opts.Cookie = &c
	}
	return &opts
}
