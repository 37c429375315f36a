package engineio

import (
	"context"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/corvid-io/corvid/internal/ws"
)

// The WebSocket side of a session: its writer, and the upgrade of a polling
// session. The connection itself (our RFC 6455 framing or coder/websocket's,
// the poller, the closing handshake) is internal/ws's, used through ws.Conn.

// startWriterLocked starts the websocket writer goroutine unless it runs. The
// writer exits once the queue is empty, so an idle session has none.
func (s *Session) startWriterLocked() {
	if s.writing || s.conn == nil {
		return
	}
	if !s.srv.track() {
		s.conn.CloseNow() // shut down: the close frame was written or is being written
		return
	}
	s.writing = true
	go s.writeLoop(s.conn)
}

// framePool holds the frame slices a writer hands to its connection.
var framePool = sync.Pool{New: func() any { fs := make([]ws.Frame, 0, 16); return &fs }}

// maxPooledFrames: larger frame slices are left to the GC.
const maxPooledFrames = 1024

// frameOf is the WebSocket frame of a packet: binary data, or the packet's
// text form (its type digit, then its data).
func frameOf(p Packet) ws.Frame {
	return ws.Frame{Binary: p.Binary, Prefix: '0' + byte(p.Type), Data: p.Data}
}

// writeLoop writes the queued packets back to back until the queue is empty; on
// a closed session it then closes the WebSocket.
func (s *Session) writeLoop(conn ws.Conn) {
	defer s.srv.wg.Done()
	// The rest of a frame that an inline write could not finish goes first.
	if err := conn.WriteFrames(nil); err != nil {
		s.writeFailed(conn)
		return
	}
	fp := framePool.Get().(*[]ws.Frame)
	defer func() {
		if cap(*fp) <= maxPooledFrames {
			framePool.Put(fp)
		}
	}()
	var spare []Packet
	for {
		s.mu.Lock()
		batch := s.out
		s.out, s.outBytes = nil, 0
		if len(batch) == 0 {
			if spare != nil && !s.state.closed() {
				s.out = spare // small, kept for the next Send
			}
			s.writing = false
			closed := s.state.closed()
			s.mu.Unlock()
			if closed {
				conn.Close(websocket.StatusNormalClosure, "")
			}
			return
		}
		s.mu.Unlock()
		// The frames take over the packets' data: the connection lets go
		// of each once written.
		fs := (*fp)[:0]
		for _, p := range batch {
			fs = append(fs, frameOf(p))
		}
		clear(batch)
		err := conn.WriteFrames(fs)
		clear(fs) // after an error, the frames not written
		*fp = fs[:0]
		if cap(batch) <= maxSpareQueue {
			spare = batch[:0]
		}
		if err != nil {
			s.writeFailed(conn)
			return
		}
	}
}

// writeFailed ends the session after a write error of the writer.
func (s *Session) writeFailed(conn ws.Conn) {
	s.closeWith(ReasonTransportError)
	s.mu.Lock()
	s.writing = false
	s.out, s.outBytes = nil, 0
	s.mu.Unlock()
	conn.CloseNow()
}

// An inline write (writeInline) takes at most maxInlineBytes of payload in
// at most maxInlineMessages messages.
const (
	maxInlineBytes    = 8 << 10
	maxInlineMessages = 8
)

// writeInline writes msgs on the caller's goroutine with one non-blocking
// write, for a Send that finds no writer running and nothing queued (s.writing
// has been set for it): a delivery then starts no goroutine. What the socket
// does not take at once is left in the connection for a writer goroutine,
// which is also started when packets were queued meanwhile or the session
// closed.
func (s *Session) writeInline(conn ws.Conn, msgs []Message) {
	fp := framePool.Get().(*[]ws.Frame)
	fs := (*fp)[:0]
	for _, m := range msgs {
		fs = append(fs, ws.Frame{Binary: m.Binary, Prefix: '0' + byte(PacketMessage), Data: m.Data})
	}
	pending, err := conn.WriteInline(fs)
	clear(fs)
	*fp = fs[:0]
	framePool.Put(fp)
	if err != nil {
		s.writeFailed(conn)
		return
	}
	s.mu.Lock()
	switch {
	case len(s.out) == 0 && !s.state.closed() && !pending:
		s.writing = false
	case s.srv.track():
		go s.writeLoop(conn)
	default:
		s.writing = false
		conn.CloseNow() // shut down
	}
	s.mu.Unlock()
}

// The writer keeps a small queue slice of an idle session, to spare the next
// Send an allocation.
const maxSpareQueue = 4

// upgrade serves a WebSocket that asks to take over the polling session s: probe
// ("2probe" -> "3probe"), release the pending poll with a noop, then "5".
func (srv *Server) upgrade(w http.ResponseWriter, r *http.Request, s *Session) {
	if !srv.originAllowed(w, r) {
		return
	}
	s.mu.Lock()
	dup := s.state != statePolling || srv.opts.DisableUpgrades
	if !dup {
		s.setStateLocked(stateUpgrading)
	}
	s.mu.Unlock()
	conn, err := ws.Accept(w, r, srv.wsOpts)
	if err != nil {
		if !dup {
			s.mu.Lock()
			if s.state == stateUpgrading {
				s.setStateLocked(statePolling)
			}
			s.mu.Unlock()
		}
		return
	}
	if dup {
		// As the reference: complete the handshake, then close.
		conn.Close(websocket.StatusNormalClosure, "")
		return
	}
	s.mu.Lock()
	if s.state.closed() {
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
		if s.state.upgrading() {
			s.setStateLocked(statePolling)
		}
		s.mu.Unlock()
		conn.Close(websocket.StatusNormalClosure, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), srv.opts.UpgradeTimeout)
	defer cancel()
	for {
		binary, data, err := conn.ReadMessage(ctx)
		if err != nil || binary {
			fail()
			return
		}
		switch string(data) {
		case "2probe":
			if err := conn.WriteMessage(false, []byte("3probe")); err != nil {
				fail()
				return
			}
			s.mu.Lock()
			if s.state == stateUpgrading {
				s.setStateLocked(stateProbed)
			}
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
	if s.state.closed() || s.probe != conn {
		s.mu.Unlock()
		conn.CloseNow()
		return
	}
	s.srv.observeUpgraded()
	s.probe = nil
	s.setStateLocked(stateWebSocket)
	s.conn = conn
	s.inline = conn.InlineWrites()
	signal(s.poll)
	if len(s.out) > 0 {
		s.startWriterLocked()
	}
	s.mu.Unlock()
	conn.Start((*wsReceiver)(s))
}
