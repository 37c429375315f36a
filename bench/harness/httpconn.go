package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
)

// httpConn is the load generator's HTTP/1.1 client for long polling: one
// keep-alive connection, one request at a time, the request written with one
// Write and the response parsed in place. net/http's client costs the load
// generator about as much CPU per request as a server spends answering it; with
// this one the load generator is not what limits the polling scenarios. It
// speaks only what the polling transport needs: GET and POST with a body,
// responses with Content-Length or chunked bodies, "Connection: close".
type httpConn struct {
	host   string // host:port, dialled and sent as Host
	target string // request target: path and query
	conn   net.Conn
	br     *bufio.Reader
	wbuf   []byte
}

func newHTTPConn(rawURL string) (*httpConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return &httpConn{host: u.Host, target: u.RequestURI()}, nil
}

// setTarget changes the request target (the session URL once the sid is known).
func (h *httpConn) setTarget(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	h.target = u.RequestURI()
	return nil
}

func (h *httpConn) close() {
	if h.conn != nil {
		h.conn.Close()
		h.conn = nil
	}
}

var errHTTP = errors.New("harness: malformed HTTP response")

// do sends one request and reads the response body into buf. A request on a
// kept-alive connection that the server had closed is retried once on a new
// connection.
func (h *httpConn) do(ctx context.Context, method string, body []byte, buf *bytes.Buffer) (int, error) {
	for attempt := 0; ; attempt++ {
		fresh := h.conn == nil
		if fresh {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", h.host)
			if err != nil {
				return 0, err
			}
			h.conn = c
			h.br = bufio.NewReaderSize(c, 16<<10)
		}
		status, err := h.roundTrip(ctx, method, body, buf)
		if err == nil {
			return status, nil
		}
		h.close()
		if fresh || attempt > 0 || ctx.Err() != nil {
			return 0, err
		}
	}
}

func (h *httpConn) roundTrip(ctx context.Context, method string, body []byte, buf *bytes.Buffer) (int, error) {
	if d := ctx.Done(); d != nil {
		stop := context.AfterFunc(ctx, func() { h.conn.Close() })
		defer stop()
	}
	w := h.wbuf[:0]
	w = append(w, method...)
	w = append(w, ' ')
	w = append(w, h.target...)
	w = append(w, " HTTP/1.1\r\nHost: "...)
	w = append(w, h.host...)
	w = append(w, "\r\n"...)
	if method == "POST" {
		w = append(w, "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
		w = strconv.AppendInt(w, int64(len(body)), 10)
		w = append(w, "\r\n"...)
	}
	w = append(w, "\r\n"...)
	w = append(w, body...)
	h.wbuf = w
	if _, err := h.conn.Write(w); err != nil {
		return 0, err
	}
	return h.readResponse(buf)
}

func (h *httpConn) readResponse(buf *bytes.Buffer) (int, error) {
	line, err := h.br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, fmt.Errorf("%w: status line %q", errHTTP, line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("%w: status line %q", errHTTP, line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return 0, fmt.Errorf("%w: header %q", errHTTP, line)
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, fmt.Errorf("%w: Content-Length %q", errHTTP, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	buf.Reset()
	switch {
	case chunked:
		err = h.readChunked(buf)
	case length >= 0:
		buf.Grow(length)
		_, err = io.CopyN(buf, h.br, int64(length))
	default: // until the server closes
		_, err = buf.ReadFrom(h.br)
		closing = true
	}
	if err != nil {
		return 0, err
	}
	if closing {
		h.close()
	}
	return status, nil
}

func (h *httpConn) readChunked(buf *bytes.Buffer) error {
	for {
		line, err := h.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errHTTP, line)
		}
		if n == 0 {
			// Trailers, then the empty line.
			for {
				line, err := h.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(buf, h.br, n); err != nil {
			return err
		}
		if _, err := h.br.Discard(2); err != nil {
			return err
		}
	}
}
