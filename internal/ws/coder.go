package ws

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Buffer sizes handed to coder/websocket for a connection's life, instead of
// net/http's hijacked 4 KiB each; messages larger than these buffers are read
// and written around them, so small buffers only cost syscalls on bursts of
// small frames.
const (
	coderReadBufferSize  = 512
	coderWriteBufferSize = 1024
)

// coderConn is a Conn served by coder/websocket: permessage-deflate, and
// writers that cannot be hijacked (HTTP/2). A goroutine of its own reads it
// once started.
type coderConn struct {
	c     *websocket.Conn
	cork  *corkWriter // nil when not hijacked
	spawn func(func()) bool
	flow  flow
	done  chan struct{} // closed by CloseNow
	once  sync.Once
}

func acceptCoder(w http.ResponseWriter, r *http.Request, o *Options) (Conn, error) {
	cc := &coderConn{spawn: o.Spawn, done: make(chan struct{}), flow: flow{wake: make(chan struct{}, 1)}}
	if !canHijack(w) {
		// HTTP/2 and other non-hijackable writers: Accept refuses them itself.
		conn, err := websocket.Accept(w, r, o.Accept)
		if err != nil {
			return nil, err
		}
		conn.SetReadLimit(int64(o.Limit))
		cc.c = conn
		return cc, nil
	}
	sb := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(sb, r, o.Accept)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(int64(o.Limit))
	cc.c, cc.cork = conn, sb.cork
	return cc, nil
}

func (c *coderConn) ReadMessage(ctx context.Context) (bool, []byte, error) {
	typ, data, err := readCoder(ctx, c.c)
	if err != nil {
		if errors.Is(err, websocket.ErrMessageTooBig) {
			return false, nil, ErrFailed
		}
		return false, nil, err
	}
	if typ == websocket.MessageText && !utf8.Valid(data) {
		// RFC 6455 8.1: fail the connection with 1007, as the reference's
		// ws library does.
		c.c.Close(websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
		return false, nil, ErrFailed
	}
	return typ == websocket.MessageBinary, data, nil
}

// Start reads on a goroutine of its own until the connection ends.
func (c *coderConn) Start(h Handler) {
	ok := c.spawn(func() {
		for {
			binary, data, err := c.ReadMessage(context.Background())
			if err != nil {
				h.Closed(err)
				return
			}
			if !h.Message(binary, data) && c.flow.stop() && !c.flow.wait(c.done) {
				h.Closed(ErrClosed)
				return
			}
		}
	})
	if !ok {
		c.CloseNow() // shut down
		h.Closed(ErrClosed)
	}
}

func (c *coderConn) Resume() {
	if c.flow.resume() {
		c.flow.signal()
	}
}

// readCoder reads the next data message like websocket.Conn.Read, but into a
// pooled buffer, and returns a copy of the exact size: one allocation per
// message instead of io.ReadAll's growth from 512 bytes, and no buffer kept
// while the connection is idle.
func readCoder(ctx context.Context, conn *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	bp := readBufPool.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			readBufPool.Put(bp)
			return 0, nil, err
		}
	}
	data := make([]byte, len(b))
	copy(data, b)
	if cap(b) <= maxPooledReadBuf {
		*bp = b[:0]
		readBufPool.Put(bp)
	}
	return typ, data, nil
}

func (c *coderConn) WriteMessage(binary bool, data []byte) error {
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	return c.c.Write(context.Background(), typ, data)
}

// WriteFrames writes each frame as a message; a batch, or a message too
// large for the write buffer (its header and payload would otherwise take two
// syscalls), is gathered by the cork into one write.
func (c *coderConn) WriteFrames(fs []Frame) error {
	corked := len(fs) > 1 || len(fs) == 1 && fs[0].size() > coderWriteBufferSize-16
	if corked {
		c.cork.setCorked(true)
	}
	var bufp *[]byte
	var err error
	for i := range fs {
		f := &fs[i]
		switch {
		case f.Binary:
			err = c.c.Write(context.Background(), websocket.MessageBinary, f.Data)
		case f.Prefix == 0:
			err = c.c.Write(context.Background(), websocket.MessageText, f.Data)
		default:
			if bufp == nil {
				bufp = writeBufPool.Get().(*[]byte)
			}
			*bufp = append(append((*bufp)[:0], f.Prefix), f.Data...)
			err = c.c.Write(context.Background(), websocket.MessageText, *bufp)
		}
		*f = Frame{}
		if err != nil {
			break
		}
	}
	if bufp != nil && cap(*bufp) <= maxPooledWriteBuf {
		writeBufPool.Put(bufp)
	}
	if corked {
		if e := c.cork.setCorked(false); err == nil {
			err = e
		}
	}
	return err
}

func (c *coderConn) InlineWrites() bool { return false }

func (c *coderConn) WriteInline([]Frame) (bool, error) { return true, nil }

func (c *coderConn) Close(code websocket.StatusCode, reason string) { c.c.Close(code, reason) }

func (c *coderConn) CloseNow() {
	c.once.Do(func() { close(c.done) })
	c.c.CloseNow()
}

// smallBuffers wraps a ResponseWriter so that websocket.Accept keeps smaller
// buffers than net/http's for the connection's life, and writes through a
// corkWriter.
type smallBuffers struct {
	http.ResponseWriter
	cork *corkWriter // set by Hijack
}

// Hijack hijacks the underlying connection and returns buffers of our sizes,
// carrying over any bytes net/http had already read from the client.
func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if brw.Writer.Buffered() > 0 {
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	var r io.Reader = conn
	size := coderReadBufferSize
	n := brw.Reader.Buffered()
	if n > 0 {
		early, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(early)), conn)
		size = max(size, n)
	}
	br := bufio.NewReaderSize(r, size)
	if n > 0 {
		br.Peek(n) // buffered, so that Accept's own carry-over sees them
	}
	w.cork = &corkWriter{conn: conn}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.cork, coderWriteBufferSize)), nil
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (w *smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }
