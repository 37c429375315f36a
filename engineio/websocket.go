package engineio

import (
	"context"
	"errors"
	"net/http"

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
	conn, err := websocket.Accept(w, r, srv.acceptOpts)
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
