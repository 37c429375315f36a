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
	"io"
	"net"
	"syscall"
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

// headersEnd reports whether b holds the end of a request's headers (an
// empty line: "\r\n\r\n", or "\n\n" which net/http also accepts), looking
// only at the bytes from `from` on (and the three before them).
func headersEnd(b []byte, from int) bool {
	for i := max(0, from-3); i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return true
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return true
		}
	}
	return false
}

// tlsRecord is the first byte of a TLS handshake record.
const tlsRecord = 0x16

// conn is a connection handed over with the bytes the gate read from it.
// Those are read first; the *net.TCPConn is read after them.
type conn struct {
	*net.TCPConn
	pre []byte // read by the http.Server's reading goroutine only
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return n, nil
	}
	return c.TCPConn.Read(p)
}

// WriteTo copies the bytes the gate read, then the connection's, to w
// (*net.TCPConn's own WriteTo would skip the first).
func (c *conn) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.pre) > 0 {
		m, err := w.Write(c.pre)
		n += int64(m)
		c.pre = c.pre[m:]
		if err != nil {
			return n, err
		}
		c.pre = nil
	}
	m, err := c.TCPConn.WriteTo(w)
	return n + m, err
}

// errPending is SyscallConn's error while bytes the gate read have not
// been read back: a reader of the file descriptor would miss them.
var errPending = syscall.EAGAIN

// SyscallConn returns the TCP connection's once the bytes the gate read
// have been read; before, an error, so that a reader falls back to Read.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if len(c.pre) > 0 {
		return nil, errPending
	}
	return c.TCPConn.SyscallConn()
}
