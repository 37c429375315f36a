package engineio

import "unsafe"

// This file is the inbound accounting of a session: what a peer's bytes may
// make the server hold, computed in one place for every read path (WebSocket
// frames, polling POST bodies, the queue of messages not yet read).
//
//   - Read buffers grow with the bytes that arrive (ws.Grow), never to the
//     length a frame header or a Content-Length declares: a peer that
//     declares a megabyte and sends one byte holds a small buffer.
//   - Every queued inbound message is charged its data plus inMsgOverhead
//     (inboundCharge), so that a flood of empty or tiny messages costs what it
//     costs in memory; the session's charge is kept by inbound.

// inMsgOverhead is what one queued inbound message is charged beyond its
// data: its place in the queue.
const inMsgOverhead = int(unsafe.Sizeof(Message{}))

// inboundCharge is what a queued inbound message counts against the
// session's inbound limit (MaxHTTPBufferSize).
func inboundCharge(m Message) int { return len(m.Data) + inMsgOverhead }

// inbound is the queue of the messages a session holds for its receiver
// (received, not yet read or delivered) and their charge; guarded by the
// session's mu. Every transport queues through Session.receive, and none
// reads more from the peer while it is full: polling POSTs wait (even in the
// middle of a body); a WebSocket reader stops until a message taken from the
// queue makes room (see receive.go).
type inbound struct {
	q       []Message
	charged int
}

// maxKeptInbound is the largest queue array an emptied queue keeps.
const maxKeptInbound = 2

func (in *inbound) len() int { return len(in.q) }

func (in *inbound) push(m Message) {
	in.q = append(in.q, m)
	in.charged += inboundCharge(m)
}

// pop takes the oldest message; the queue is not empty.
func (in *inbound) pop() Message {
	m := in.q[0]
	in.q[0] = Message{}
	if len(in.q) == 1 {
		// Emptied: a small array is kept for the next message (a receiver
		// that reads one message at a time allocates none), a larger one
		// goes with its last message.
		if cap(in.q) <= maxKeptInbound {
			in.q = in.q[:0]
		} else {
			in.q = nil
		}
	} else {
		in.q = in.q[1:]
	}
	in.charged -= inboundCharge(m)
	return m
}

// full reports whether the peer must wait before more is taken from it.
func (in *inbound) full(limit int) bool { return in.charged > limit }
