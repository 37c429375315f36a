package engineio

import (
	"context"
	"time"
)

// Receive switches the session to push mode: instead of a goroutine blocked
// in Read, the server's own goroutines hand each message to onMessage (the
// handler of the POST that carried it, or the WebSocket's reader), in order and
// never two at a time, and with no lock of the session held. After the last
// message onClose is called once with the close error, which wraps the close
// Reason (as Read's). Neither callback may block for long: a slow onMessage
// holds back the reading of its own connection (the backpressure of Read).
//
// Receive is called at most once, typically by the handler given to
// NewServer, which may then return at once: in push mode the session is not
// closed when the handler returns. Read must not be used after Receive. On
// linux an idle WebSocket session in push mode holds no goroutine: its
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

// pump delivers the queued messages (deliver) and, once the session is closed
// and nothing is left to deliver, the close. A goroutine that finds another
// one delivering leaves the work to it.
func (s *Session) pump(deliver bool) {
	s.mu.Lock()
	if !s.push || s.pushing || s.ended {
		s.mu.Unlock()
		return
	}
	for deliver && len(s.in) > 0 {
		m := s.popInLocked()
		s.pushing = true
		s.mu.Unlock()
		s.onMsg(m)
		s.mu.Lock()
		s.pushing = false
	}
	if !s.closed || len(s.in) > 0 {
		s.mu.Unlock()
		return
	}
	s.ended = true
	err := s.closedErrLocked()
	s.mu.Unlock()
	s.onEnd(err)
}

// deliverPushed queues a message read from the WebSocket and delivers it;
// false when the session has closed meanwhile (the message is dropped, as the
// close has been or will be reported after the messages before it).
func (s *Session) deliverPushed(m Message) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	if !s.pushing && len(s.in) == 0 {
		// The common case: delivered at once, without the queue.
		s.pushing = true
		s.mu.Unlock()
		s.onMsg(m)
		s.mu.Lock()
		s.pushing = false
	} else {
		s.deliverLocked(m)
	}
	s.mu.Unlock()
	s.pump(true)
	return true
}

// receiveWebSocket starts reading conn for a session in push mode: parked in
// the poller when the platform and the connection allow it, else with a
// goroutine that reads until the connection ends.
func (s *Session) receiveWebSocket(conn wsTransport) {
	if c, ok := conn.(*wsConn); ok && c.rc != nil && parkSupported {
		if c.parkFor(s) == nil {
			c.rmu.Lock()
			buffered := c.rb != nil
			c.rmu.Unlock()
			if buffered {
				// Bytes that came with the handshake or behind the upgrade
				// packet: nobody would wake for them.
				c.ready()
			}
			return
		}
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
			if ok && !s.deliverPushed(m) {
				return
			}
		}
	}()
}

// wsLinger is how long the reader of a parked connection that has just
// delivered a message waits, with the runtime's poller, for the next one
// before parking the connection again: a busy connection keeps its reader
// (as in Read mode) instead of paying a park and a wake per message; an idle
// one holds no goroutine after this.
const wsLinger = 100 * time.Millisecond

// readReady runs when the poller saw a parked connection readable: it reads
// what the socket holds without blocking, delivers the whole messages, and
// parks the connection again (keeping only the bytes of an incomplete frame).
func (s *Session) readReady(c *wsConn) {
	c.rmu.Lock()
	active := false
	for {
		res, binary, data, err := c.readAvailable()
		if err == nil && res == wsNeedMore {
			if active && c.rb == nil {
				active = false
				if c.awaitReadable(wsLinger) {
					continue
				}
			}
			err = c.rearm()
			if err == nil {
				c.rmu.Unlock()
				return
			}
		}
		if err != nil {
			c.rmu.Unlock()
			s.receivedWS(false, nil, err)
			return
		}
		m, ok, open := s.receivedWS(binary, data, nil)
		if !open {
			c.rmu.Unlock()
			return
		}
		if ok && !s.deliverPushed(m) {
			c.rmu.Unlock()
			return
		}
		active = active || ok
	}
}
