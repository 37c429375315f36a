package engineio

import (
	"context"
	"errors"

	"github.com/corvid-io/corvid/internal/ws"
)

// This file is the receiving side of a session: the one path by which every
// message the peer sends reaches the receiver, whichever transport read it.
//
//	transport reader ──receive──▶ in (inbound queue, charged) ──▶ Read
//	                      │                                  └──▶ pump ──▶ onMessage (push mode)
//	                      └── a free push receiver gets it at once, without the queue
//
// The transport reads while the queue has room: a WebSocket reader stops
// (its handler returns false, stopped) when the queue is full or the session
// paused, and is resumed (ws.Conn.Resume) when a message taken from the
// queue makes room, or by Resume; a POST waits in the middle of its body
// until a message is taken (drained).

// Read returns the next message from the client. It blocks until one arrives, the
// session closes (the error then wraps the close Reason), or ctx is done.
// Read is meant for one goroutine at a time, and not after Receive.
func (s *Session) Read(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.in.len() > 0 {
			m, c := s.popInLocked()
			s.mu.Unlock()
			if c != nil {
				c.Resume()
			}
			return m, nil
		}
		if s.state.closed() {
			err := s.closedErrLocked()
			s.mu.Unlock()
			return Message{}, err
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return Message{}, err
		}
		if s.notify == nil {
			s.notify = make(chan struct{}, 1) // push mode never needs it
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// Receive switches the session to push mode: instead of a goroutine blocked
// in Read, the server's own goroutines hand each message to onMessage (the
// handler of the POST that carried it, or the goroutine that reads the
// WebSocket), in order and never two at a time, and with no lock of the
// session held. After the last message onClose is called once with the close
// error, which wraps the close Reason (as Read's).
//
// Neither callback may block: on linux one goroutine reads many WebSocket
// connections and runs their callbacks, so a callback that waits holds back
// every connection of that goroutine. A receiver that cannot keep up calls
// Pause, and Resume once it can take more.
//
// Receive is called at most once, typically by the handler given to
// NewServer, which may then return at once: in push mode the session is not
// closed when the handler returns. Read must not be used after Receive.
// Messages that arrived before Receive are delivered first. On linux a
// WebSocket session holds no goroutine of its own: its connection waits in
// an epoll set until bytes arrive.
func (s *Session) Receive(onMessage func(Message), onClose func(error)) {
	s.mu.Lock()
	if s.recv != recvQueue {
		s.mu.Unlock()
		return
	}
	s.recv = recvPush
	s.onMsg, s.onEnd = onMessage, onClose
	s.mu.Unlock()
	s.pump(true)
}

// Pause holds back the delivery of messages in push mode: once the onMessage
// call in progress, if any, returns, none is delivered until Resume. A
// WebSocket is not read meanwhile (what the peer sends waits in TCP's
// buffers, then slows the peer down); a polling POST is answered only when
// the session has room for what it carried, as with a slow Read. Messages
// still arrive after the session closes, so that onClose is always reached.
func (s *Session) Pause() {
	s.mu.Lock()
	s.paused = true
	s.mu.Unlock()
}

// Resume ends a Pause: the messages held back are delivered, from a goroutine
// of the server's, and reading goes on.
func (s *Session) Resume() {
	s.mu.Lock()
	if !s.paused {
		s.mu.Unlock()
		return
	}
	s.paused = false
	s.mu.Unlock()
	s.srv.spawn(func() {
		s.pump(true)
		s.mu.Lock()
		c := s.resumeReaderLocked()
		s.mu.Unlock()
		if c != nil {
			c.Resume()
		}
	})
}

// receive takes a message the peer sent, whichever transport read it: a
// free push receiver gets it at once, else it is queued (and Read or pump
// takes it). It reports whether the transport may read more now: false once
// the session is closed or its queue is full, and for the WebSocket
// (fromWS) also while the session is paused; the WebSocket reader is then
// stopped until resumed (resumeReaderLocked).
func (s *Session) receive(m Message, fromWS bool) bool {
	s.mu.Lock()
	if s.state.closed() {
		s.mu.Unlock()
		return false
	}
	if s.recv == recvPush && !s.paused && s.in.len() == 0 {
		// The common case: delivered at once, without the queue.
		s.recv = recvBusy
		s.mu.Unlock()
		s.onMsg(m)
		s.mu.Lock()
		s.recv = recvPush
		if s.in.len() == 0 && !s.state.closed() {
			more := s.moreLocked(fromWS)
			s.mu.Unlock()
			return more
		}
		s.mu.Unlock()
		s.pump(true)
	} else {
		s.in.push(m)
		signal(s.notify)
		push := s.recv == recvPush
		s.mu.Unlock()
		if push {
			s.pump(true)
		}
	}
	s.mu.Lock()
	more := s.moreLocked(fromWS)
	s.mu.Unlock()
	return more
}

// moreLocked reports whether the transport may read more (see receive),
// and records that the WebSocket reader stops when it may not.
func (s *Session) moreLocked(fromWS bool) bool {
	if s.state.closed() {
		return false
	}
	if !s.in.full(s.srv.opts.MaxHTTPBufferSize) && !(fromWS && s.paused) {
		return true
	}
	if fromWS {
		s.stopped = true
	}
	return false
}

// popInLocked takes the oldest queued message and wakes a POST waiting for
// room. When that leaves room for a WebSocket reader that stopped, the
// connection is returned: the caller resumes it once s.mu is released.
func (s *Session) popInLocked() (Message, ws.Conn) {
	m := s.in.pop()
	signal(s.drained)
	return m, s.resumeReaderLocked()
}

// resumeReaderLocked returns the connection whose reader stopped, when it
// may read again (the queue has room and the session is not paused); the
// caller resumes it once s.mu is released.
func (s *Session) resumeReaderLocked() ws.Conn {
	if !s.stopped || s.paused || s.in.full(s.srv.opts.MaxHTTPBufferSize) {
		return nil
	}
	s.stopped = false
	return s.conn
}

// pump delivers the queued messages in push mode (deliver; also when paused
// once the session is closed) and, once the session is closed and nothing is
// left to deliver, the close. A goroutine that finds another one delivering
// leaves the work to it.
func (s *Session) pump(deliver bool) {
	s.mu.Lock()
	if s.recv != recvPush {
		s.mu.Unlock()
		return
	}
	for deliver && s.in.len() > 0 && (!s.paused || s.state.closed()) {
		m, c := s.popInLocked()
		s.recv = recvBusy
		s.mu.Unlock()
		if c != nil {
			c.Resume()
		}
		s.onMsg(m)
		s.mu.Lock()
		s.recv = recvPush
	}
	if !s.state.closed() || s.in.len() > 0 {
		s.mu.Unlock()
		return
	}
	s.recv = recvEnded
	err := s.closedErrLocked()
	s.mu.Unlock()
	s.onEnd(err)
}

// wsReceiver is the session as the handler of its WebSocket (ws.Handler).
type wsReceiver Session

// Message parses a data message read from the WebSocket and receives it;
// false stops the reader (the session closed, its queue is full, or it is
// paused) until the session resumes it.
func (h *wsReceiver) Message(binary bool, data []byte) bool {
	s := (*Session)(h)
	var p Packet
	if binary {
		p = Packet{Type: PacketMessage, Binary: true, Data: data}
	} else {
		var err error
		if p, err = ParsePacket(data); err != nil {
			s.closeWith(ReasonParseError)
			return false
		}
	}
	m, ok, open := s.handlePacket(p)
	if !open {
		return false
	}
	if !ok {
		return true
	}
	s.srv.observeIn(websocketName, m)
	return s.receive(m, true)
}

// Closed ends the session when its WebSocket ends.
func (h *wsReceiver) Closed(err error) {
	r := ReasonTransportClose
	if errors.Is(err, ws.ErrFailed) {
		r = ReasonTransportError
	}
	(*Session)(h).closeWith(r)
}
