// Package httpgate holds a new connection until the headers of its first HTTP
// request have arrived, and only then hands it to the http.Server that
// accepts from the listener.
//
// An http.Server gives every connection it accepts a goroutine, a 4 KiB
// bufio.Reader and a 4 KiB bufio.Writer at once, whatever the peer has sent:
// about 13 KiB of memory per connection (measured: 2,000 connections that
// trickle their headers, RSS +25.6 MiB, live heap +21.7 MiB, of which
// bufio.NewReaderSize 8.7 MB and bufio.NewWriterSize 7.2 MB). Behind the gate
// a connection that has sent part of its request costs its socket, a small
// record and the bytes it sent (held in a buffer that grows with them), and
// no goroutine: on Linux one goroutine per listener waits on an epoll set for
// all of them. Elsewhere, and where the connections have no file descriptor,
// New returns the listener unchanged.
//
// Limits, charged to the connection that causes them:
//   - Options.Timeout: a connection whose headers are not complete by then is
//     closed (without an answer, as net/http closes at its
//     ReadHeaderTimeout).
//   - Options.MaxBytes: a connection that has sent that many bytes without
//     the end of its headers is handed over as it is; the http.Server then
//     answers 431 once its own MaxHeaderBytes is reached.
//
// The gate is transparent to the http.Server and to the handlers: the bytes
// it read are read again first from the connection it hands over (a
// *net.TCPConn's methods otherwise, SyscallConn included once those bytes
// have been read). A connection whose first byte opens a TLS record is handed
// over at once: behind tls.NewListener (http.Server.ServeTLS) the gate sees
// only the encrypted stream, so it does not hold TLS connections. Only the
// first request of a connection passes the gate; the following ones on a
// keep-alive connection are read by the http.Server as usual.
package httpgate

import (
	"net"
	"time"
)

// Options are the gate's limits. The zero value holds connections without
// a timeout and up to 16 KiB.
type Options struct {
	// Timeout closes a connection whose request headers are not complete
	// that long after it was accepted. Zero: no timeout.
	Timeout time.Duration
	// MaxBytes hands over a connection that has sent that many bytes without
	// the end of its headers. Zero: 16 KiB.
	MaxBytes int
}

// DefaultMaxBytes is Options.MaxBytes's default.
const DefaultMaxBytes = 16 << 10

// New returns a listener that accepts from ln and returns a connection once
// the headers of its first request have arrived (or it sent opts.MaxBytes,
// or it is a TLS connection). Closing it closes ln and the connections it
// holds.
func New(ln net.Listener, opts Options) net.Listener {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	return newGate(ln, opts)
}
