package engineio

import (
	"net"
	"net/http"
	"time"

	"github.com/corvid-io/corvid/internal/httpgate"
)

// The HTTP server settings of Node's http module, which the reference runs
// on: recommended for the http.Server that serves a Server. http.Server's own
// zero values keep a connection and a slow request forever.
const (
	// HTTPReadHeaderTimeout bounds the wait for a request's headers (Node's
	// headersTimeout).
	HTTPReadHeaderTimeout = 60 * time.Second
	// HTTPRequestTimeout bounds the wait for a whole request, headers and
	// body (Node's requestTimeout). It is http.Server.ReadTimeout, which
	// stops at the end of the body: a held long poll (its response not yet
	// written) and a hijacked WebSocket are not cut.
	HTTPRequestTimeout = 300 * time.Second
	// HTTPIdleTimeout closes a keep-alive connection idle that long between
	// requests (Node's keepAliveTimeout).
	HTTPIdleTimeout = 5 * time.Second
	// HTTPMaxHeaderBytes bounds a request's headers (Node's maxHeaderSize,
	// 16 KiB); over it the request gets 431.
	HTTPMaxHeaderBytes = 16 << 10
)

// HTTPServerOptions tunes NewHTTPServer. The zero value means the HTTP*
// defaults above; a negative duration means no timeout.
type HTTPServerOptions struct {
	ReadHeaderTimeout time.Duration
	RequestTimeout    time.Duration
	IdleTimeout       time.Duration
	MaxHeaderBytes    int
}

// NewHTTPServer returns an http.Server for addr serving h with Node's limits:
// headers within HTTPReadHeaderTimeout and HTTPMaxHeaderBytes, the whole
// request within HTTPRequestTimeout, keep-alive connections closed after
// HTTPIdleTimeout idle. There is no write timeout (http.Server.WriteTimeout
// would cut a held long poll) and nothing bounds a request once its body has
// been read, so long polls and WebSockets live as long as their sessions
// (their heartbeat bounds them). opts may be nil. Set TLSConfig, ErrorLog
// and the like on the result.
func NewHTTPServer(addr string, h http.Handler, opts *HTTPServerOptions) *http.Server {
	var o HTTPServerOptions
	if opts != nil {
		o = *opts
	}
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, HTTPReadHeaderTimeout)
	o.RequestTimeout = orDefault(o.RequestTimeout, HTTPRequestTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, HTTPIdleTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = HTTPMaxHeaderBytes
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.RequestTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
	}
}

// NewHTTPListener returns ln behind a gate that hands a connection to the
// http.Server accepting from it only once the headers of its first request
// have arrived: serve NewHTTPServer's server on it (hs.Serve(ln)). Until then
// a connection costs its socket, a record of about 200 bytes and the bytes it
// sent, and no goroutine (on Linux: one goroutine per listener waits on an
// epoll set for all of them); the http.Server would give it a goroutine and
// 8 KiB of buffers at once (about 13 KiB in all), so a slowloris client
// costs in proportion to what it sent. A connection whose headers are not
// complete within opts' ReadHeaderTimeout is closed, and one that has sent
// MaxHeaderBytes without their end is handed over as it is (the http.Server
// answers 431). opts may be nil (HTTPReadHeaderTimeout, HTTPMaxHeaderBytes),
// and should be the options given to NewHTTPServer.
//
// The gate is transparent: the http.Server reads the bytes it held first,
// keep-alive connections serve their later requests as usual, and the
// WebSocket upgrade path keeps reading the socket through the poller. It does
// not hold TLS connections (behind tls.NewListener, as http.Server.ServeTLS
// puts it, a connection opening with a TLS record is handed over at once),
// nor, on systems other than Linux, any: there ln is returned as it is.
// Closing the listener closes the connections it holds.
func NewHTTPListener(ln net.Listener, opts *HTTPServerOptions) net.Listener {
	var o HTTPServerOptions
	if opts != nil {
		o = *opts
	}
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, HTTPReadHeaderTimeout)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = HTTPMaxHeaderBytes
	}
	return httpgate.New(ln, httpgate.Options{Timeout: o.ReadHeaderTimeout, MaxBytes: o.MaxHeaderBytes})
}

// orDefault maps 0 to def and a negative d to 0 (no timeout).
func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}
