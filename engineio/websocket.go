package engineio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// startWriterLocked starts the websocket writer goroutine unless it runs. The
// writer exits once the queue is empty, so an idle session has none.
func (s *Session) startWriterLocked() {
	if s.writing || s.ws == nil {
		return
	}
	s.writing = true
	s.srv.wg.Add(1)
	go s.writeLoop(s.ws)
}

// writeLoop writes the queued packets back to back until the queue is empty; on
// a closed session it then closes the WebSocket.
func (s *Session) writeLoop(conn *websocket.Conn) {
	defer s.srv.wg.Done()
	var buf []byte
	for {
		s.mu.Lock()
		batch := s.out
		s.out, s.outBytes = nil, 0
		if len(batch) == 0 {
			s.writing = false
			closed := s.closed
			s.mu.Unlock()
			if closed {
				conn.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		s.mu.Unlock()
		for i, p := range batch {
			var err error
			if p.Binary {
				err = conn.Write(context.Background(), websocket.MessageBinary, p.Data)
			} else {
				buf = AppendPacket(buf[:0], p)
				err = conn.Write(context.Background(), websocket.MessageText, buf)
			}
			batch[i] = Packet{}
			if err != nil {
				s.closeWith(ReasonTransportError)
				s.mu.Lock()
				s.writing = false
				s.out, s.outBytes = nil, 0
				s.mu.Unlock()
				conn.CloseNow()
				return
			}
		}
	}
}

// readWebSocket reads frames until a message arrives or the session closes.
func (s *Session) readWebSocket(conn *websocket.Conn) (Message, error) {
	for {
		typ, data, err := conn.Read(context.Background())
		if err != nil {
			r := ReasonTransportClose
			if errors.Is(err, websocket.ErrMessageTooBig) {
				r = ReasonTransportError
			}
			s.closeWith(r)
			return Message{}, s.closedErr()
		}
		var p Packet
		if typ == websocket.MessageBinary {
			p = Packet{Type: PacketMessage, Binary: true, Data: data}
		} else if p, err = ParsePacket(data); err != nil {
			s.closeWith(ReasonParseError)
			return Message{}, s.closedErr()
		}
		m, ok, open := s.handlePacket(p)
		if !open {
			return Message{}, s.closedErr()
		}
		if ok {
			return m, nil
		}
	}
}

func (s *Session) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closedErrLocked()
}

// readBackground reads one message for a Read whose ctx may end first.
func (s *Session) readBackground(conn *websocket.Conn) {
	defer s.srv.wg.Done()
	m, err := s.readWebSocket(conn)
	s.mu.Lock()
	if err == nil {
		s.deliverLocked(m)
	}
	s.bgReading = false
	signal(s.notify)
	s.mu.Unlock()
}

// upgrade serves a WebSocket that asks to take over the polling session s: probe
// ("2probe" -> "3probe"), release the pending poll with a noop, then "5".
func (srv *Server) upgrade(w http.ResponseWriter, r *http.Request, s *Session) {
	if !srv.originAllowed(w, r) {
		return
	}
	s.mu.Lock()
	dup := s.closed || s.upgrading || s.websocket || srv.opts.DisableUpgrades
	if !dup {
		s.upgrading = true
	}
	s.mu.Unlock()
	conn, err := srv.accept(w, r)
	if err != nil {
		if !dup {
			s.mu.Lock()
			s.upgrading = false
			s.mu.Unlock()
		}
		return
	}
	if dup {
		// As the reference: complete the handshake, then close.
		conn.Close(websocket.StatusNormalClosure, "")
		return
	}
	conn.SetReadLimit(int64(srv.opts.MaxHTTPBufferSize))
	s.mu.Lock()
	if s.closed {
		s.upgrading = false
		s.mu.Unlock()
		conn.CloseNow()
		return
	}
	s.probe = conn
	s.mu.Unlock()

	fail := func() {
		s.mu.Lock()
		if s.probe == conn {
			s.probe = nil
		}
		s.upgrading = false
		s.mu.Unlock()
		conn.Close(websocket.StatusNormalClosure, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), srv.opts.UpgradeTimeout)
	defer cancel()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			fail()
			return
		}
		if typ != websocket.MessageText {
			fail()
			return
		}
		switch string(data) {
		case "2probe":
			if err := conn.Write(ctx, websocket.MessageText, []byte("3probe")); err != nil {
				fail()
				return
			}
			s.mu.Lock()
			s.noop = true
			signal(s.poll)
			s.mu.Unlock()
			continue
		case "5":
		default:
			fail()
			return
		}
		break
	}
	s.mu.Lock()
	if s.closed || s.probe != conn {
		s.mu.Unlock()
		conn.CloseNow()
		return
	}
	s.probe = nil
	s.upgrading = false
	s.websocket = true
	s.ws = conn
	s.noop = false
	signal(s.poll)
	if len(s.out) > 0 {
		s.startWriterLocked()
	}
	signal(s.notify)
	s.mu.Unlock()
}

// wsCloseTimeout bounds a graceful close behind a writer that is still busy.
const wsCloseTimeout = 5 * time.Second

// Buffer sizes handed to coder/websocket for a connection's life. net/http's
// hijacked buffers are 4 KiB each; messages larger than these buffers are read
// and written around them, so small buffers only cost syscalls on bursts of small
// frames.
const (
	wsReadBufferSize  = 512
	wsWriteBufferSize = 1024
)

// smallBuffers wraps a ResponseWriter so that websocket.Accept keeps smaller
// buffers than net/http's for the connection's life (the main memory cost of an
// idle WebSocket session).
type smallBuffers struct {
	http.ResponseWriter
}

// Hijack hijacks the underlying connection and returns buffers of our sizes,
// carrying over any bytes net/http had already read from the client.
func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
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
	size := wsReadBufferSize
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
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, wsWriteBufferSize)), nil
}

// Unwrap returns the wrapped ResponseWriter (for http.ResponseController).
func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accept upgrades r with our options and buffer sizes.
func (srv *Server) accept(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	return websocket.Accept(smallBuffers{w}, r, srv.acceptOpts)
}
