package engineio

import "context"

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
// closed when the handler returns. Read must not be used after Receive. On
// linux a WebSocket session in push mode holds no goroutine of its own: its
// connection waits in an epoll set until bytes arrive.
func (s *Session) Receive(onMessage func(Message), onClose func(error)) {
	s.mu.Lock()
	if s.push {
		s.mu.Unlock()
		return
	}
	s.push = true
	s.onMsg, s.onEnd = onMessage, onClose
	var conn wsTransport
	if s.websocket && !s.closed {
		conn = s.ws
	}
	s.mu.Unlock()
	if conn != nil {
		s.receiveWebSocket(conn)
	}
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
	if !s.paused.Load() {
		s.paused.Store(true)
		s.resumed = make(chan struct{})
	}
	s.mu.Unlock()
}

// Resume ends a Pause: the messages held back are delivered, from a goroutine
// of the server's, and reading goes on.
func (s *Session) Resume() {
	s.mu.Lock()
	if !s.paused.Load() {
		s.mu.Unlock()
		return
	}
	s.paused.Store(false)
	close(s.resumed)
	s.resumed = nil
	c := s.parkedConn
	s.mu.Unlock()
	s.srv.spawn(func() {
		s.pump(true)
		if c != nil {
			c.kick()
		}
	})
}

// pump delivers the queued messages (deliver) and, once the session is closed
// and nothing is left to deliver, the close. A goroutine that finds another
// one delivering leaves the work to it.
func (s *Session) pump(deliver bool) {
	s.mu.Lock()
	if !s.push || s.pushing || s.ended {
		s.mu.Unlock()
		return
	}
	for deliver && s.in.len() > 0 && (!s.paused.Load() || s.closed) {
		m := s.popInLocked()
		s.pushing = true
		s.mu.Unlock()
		s.onMsg(m)
		s.mu.Lock()
		s.pushing = false
	}
	if !s.closed || s.in.len() > 0 {
		s.mu.Unlock()
		return
	}
	s.ended = true
	err := s.closedErrLocked()
	s.mu.Unlock()
	s.onEnd(err)
}

// deliverPushed delivers a message read from the WebSocket, or queues it
// behind the ones not delivered yet. It reports whether reading goes on:
// false once the session has closed (the message is dropped, as the close has
// been or will be reported after the messages before it) or is paused; and
// whether it must first wait for room (awaitInRoom): the message was queued
// behind another goroutine's deliveries, which the reader outruns, and the
// queue is full.
func (s *Session) deliverPushed(m Message) (more, full bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, false
	}
	if s.pushing || s.in.len() > 0 || s.paused.Load() {
		s.deliverLocked(m)
		s.mu.Unlock()
		s.pump(true)
		return !s.paused.Load(), s.inFull()
	}
	// The common case: delivered at once, without the queue.
	s.pushing = true
	s.mu.Unlock()
	s.onMsg(m)
	s.mu.Lock()
	s.pushing = false
	if s.in.len() > 0 || s.closed {
		s.mu.Unlock()
		s.pump(true)
		return !s.closedNow() && !s.paused.Load(), false
	}
	paused := s.paused.Load()
	s.mu.Unlock()
	return !paused, false
}

// inFull reports whether the messages queued for the receiver fill the
// session's inbound limit.
func (s *Session) inFull() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.in.full(s.srv.opts.MaxHTTPBufferSize)
}

// awaitInRoom waits while the inbound queue is full; false once the session
// has closed.
func (s *Session) awaitInRoom() bool {
	s.mu.Lock()
	for !s.closed && s.in.full(s.srv.opts.MaxHTTPBufferSize) {
		if s.roomed == nil {
			s.roomed = make(chan struct{}, 1)
		}
		ch := s.roomed
		s.mu.Unlock()
		<-ch // signalled by every pop, and by the close
		s.mu.Lock()
	}
	open := !s.closed
	s.mu.Unlock()
	return open
}

func (s *Session) closedNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// awaitResume waits while the session is paused; false once it has closed.
func (s *Session) awaitResume() bool {
	done := s.Context().Done()
	s.mu.Lock()
	for s.paused.Load() && !s.closed {
		ch := s.resumed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-done:
		}
		s.mu.Lock()
	}
	open := !s.closed
	s.mu.Unlock()
	return open
}

// receiveWebSocket starts reading conn for a session in push mode: by a
// poller when the platform and the connection allow it, else with a goroutine
// that reads until the connection ends.
func (s *Session) receiveWebSocket(conn wsTransport) {
	if c, ok := conn.(*wsConn); ok && c.rc != nil && parkSupported {
		s.mu.Lock()
		s.parkedConn = c
		s.mu.Unlock()
		if c.parkFor(s) == nil {
			return
		}
		s.mu.Lock()
		s.parkedConn = nil
		s.mu.Unlock()
	}
	s.srv.wg.Add(1)
	go func() {
		defer s.srv.wg.Done()
		for {
			binary, data, err := conn.readMessage(context.Background())
			m, ok, open := s.receivedWS(binary, data, err)
			if !open {
				return
			}
			if !ok {
				continue
			}
			more, full := s.deliverPushed(m)
			if !more && !s.awaitResume() || full && !s.awaitInRoom() {
				return
			}
		}
	}()
}
