//go:build linux

package httpgate

import (
	"io"
	"net"
	"syscall"
)

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
