package socketio

import "github.com/corvid-io/corvid/engineio"

// receive serves the connection in push mode (the session delivers its
// messages itself: a conn needs no goroutine of its own to read them) and
// returns at once; done runs after the last handler call of the connection
// has run.
func (c *conn) receive(done func()) {
	c.onDone = done
	c.sess.Receive(c.onMessage, c.onClose)
}

// onMessage processes one message; the session calls it in order, never two
// at a time. After a message that closes the connection, the ones still
// queued are ignored.
func (c *conn) onMessage(m engineio.Message) {
	if c.stopped {
		return
	}
	if reason, ok := c.process(m); !ok {
		c.stopped = true
		c.end(reason)
	}
}

// onClose is the session's end, after its last message.
func (c *conn) onClose(err error) {
	if c.stopped {
		return
	}
	c.stopped = true
	c.end(disconnectReason(err))
}

// end closes the connection with reason and queues the dispatcher's end; it
// does not wait (it may run on the dispatcher itself).
func (c *conn) end(reason DisconnectReason) {
	c.close(reason)
	c.qmu.Lock()
	c.q = append(c.q, nil)
	c.startLocked()
	c.qmu.Unlock()
}
