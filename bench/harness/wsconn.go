package harness

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
)

// wsConn is the load generator's WebSocket client (RFC 6455): the opening
// handshake, masked frames out, frames in through a buffered reader. A
// general-purpose client (coder/websocket) spends more CPU per message than the
// fastest servers do, so at the rates of the rooms and fanout scenarios the load
// generator itself would be what limits the figures; this one does only what the
// scenarios need.
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader

	wmu  sync.Mutex // one frame at a time
	wbuf []byte
	mask [4]byte
}

var errWSClose = errors.New("harness: websocket closed")

// dialWebSocket opens a WebSocket to rawURL ("ws://host:port/path?query").
func dialWebSocket(ctx context.Context, rawURL string) (*wsConn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var key [16]byte
	rand.Read(key[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(key[:]) + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 4<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		conn.Close()
		return nil, err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 101")) {
		conn.Close()
		return nil, fmt.Errorf("harness: websocket handshake: %q", bytes.TrimSpace(line))
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			conn.Close()
			return nil, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
	}
	c := &wsConn{conn: conn, br: br}
	rand.Read(c.mask[:])
	return c, nil
}

// write sends one message (opcode 1 text, 2 binary) as one masked frame.
func (c *wsConn) write(op byte, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.wbuf[:0]
	n := len(p)
	switch {
	case n < 126:
		b = append(b, 0x80|op, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|op, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|op, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, c.mask[:]...)
	start := len(b)
	b = append(b, p...)
	for i := range b[start:] {
		b[start+i] ^= c.mask[i&3]
	}
	if cap(b) <= 128<<10 {
		c.wbuf = b
	}
	_, err := c.conn.Write(b)
	return err
}

// read returns the next data message: its opcode and its bytes, valid until
// the next read. Pings are answered; a close frame ends the connection.
func (c *wsConn) read(buf *bytes.Buffer) (byte, []byte, error) {
	buf.Reset()
	var msgOp byte
	for {
		b, err := c.br.Peek(2)
		if err != nil {
			return 0, nil, err
		}
		if b, err = c.br.Peek(frameHeaderSize(b[0], b[1])); err != nil {
			return 0, nil, err
		}
		fin, op, masked, key, n, h := frameHeader(b)
		c.br.Discard(h)
		if n > 1<<26 {
			return 0, nil, fmt.Errorf("harness: websocket frame of %d bytes", n)
		}
		if op >= 0x8 { // control frame
			var payload [125]byte
			p := payload[:min(n, 125)]
			if _, err := io.ReadFull(c.br, p); err != nil {
				return 0, nil, err
			}
			unmask(p, key, masked)
			switch op {
			case 0x8:
				c.conn.Close()
				return 0, nil, errWSClose
			case 0x9:
				if err := c.write(0xA, p); err != nil {
					return 0, nil, err
				}
			}
			continue
		}
		if op != 0 {
			msgOp = op
		}
		start := buf.Len()
		if _, err := io.CopyN(buf, c.br, int64(n)); err != nil {
			return 0, nil, err
		}
		unmask(buf.Bytes()[start:], key, masked)
		if fin {
			return msgOp, buf.Bytes(), nil
		}
	}
}

// parseServerFrame parses the frame at the start of b: used is 0 while b
// holds no whole frame.
func parseServerFrame(b []byte) (fin bool, op byte, payload []byte, used int) {
	fin, op, masked, key, n, h := frameHeader(b)
	if h == 0 || uint64(len(b)-h) < n {
		return false, 0, nil, 0
	}
	payload = b[h : h+int(n)]
	unmask(payload, key, masked)
	return fin, op, payload, h + int(n)
}

// frameHeaderSize is the length of a frame header that starts with b0, b1.
func frameHeaderSize(b0, b1 byte) int {
	h := 2
	switch b1 & 0x7F {
	case 126:
		h = 4
	case 127:
		h = 10
	}
	if b1&0x80 != 0 {
		h += 4
	}
	return h
}

// frameHeader parses the header of the frame at the start of b: n is the
// payload's length and h the header's, 0 while b does not hold the whole
// header.
func frameHeader(b []byte) (fin bool, op byte, masked bool, key [4]byte, n uint64, h int) {
	if len(b) < 2 || len(b) < frameHeaderSize(b[0], b[1]) {
		return false, 0, false, key, 0, 0
	}
	fin, op, masked = b[0]&0x80 != 0, b[0]&0x0F, b[1]&0x80 != 0
	h = frameHeaderSize(b[0], b[1])
	switch n = uint64(b[1] & 0x7F); n {
	case 126:
		n = uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		n = binary.BigEndian.Uint64(b[2:])
	}
	if masked {
		copy(key[:], b[h-4:h])
	}
	return fin, op, masked, key, n, h
}

func unmask(p []byte, key [4]byte, masked bool) {
	if !masked {
		return
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
}

func (c *wsConn) close() { c.conn.Close() }

// WebSocket opcodes of data messages.
const (
	opText   byte = 0x1
	opBinary byte = 0x2
)
