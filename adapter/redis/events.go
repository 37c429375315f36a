package redis

import (
	"strconv"
	"sync/atomic"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// EventKind says what an Event reports.
type EventKind int

const (
	// EventSubscriberDropped: a subscription's connection to Redis ended (Redis
	// closed it, restarted, or stopped answering). Messages published to this
	// server until EventResubscribed are lost for it. Err is the cause.
	EventSubscriberDropped EventKind = iota + 1
	// EventResubscribed: a subscription is back after EventSubscriberDropped.
	EventResubscribed
	// EventPublishFailed: a message (Op) could not be published within
	// PublishTimeout (or RequestsTimeout for an answer); the other servers did
	// not get it. Err is the cause.
	EventPublishFailed
	// EventMessageDropped: a message received from Redis (Op "message") or an
	// answer to publish (Op "reply") was dropped because its bounded queue
	// (Options.QueueSize) was full.
	EventMessageDropped
	// EventReplyTooLarge: the answer to another server's request (Op, e.g.
	// "fetchSockets") would have been Size bytes, more than
	// Options.MaxReplySize: it was not sent; a refusal went instead (a Go
	// requester fails with a *ReplyTooLargeError), except for a broadcast
	// ack (its requester times out).
	EventReplyTooLarge
)

func (k EventKind) String() string {
	switch k {
	case EventSubscriberDropped:
		return "subscriber dropped"
	case EventResubscribed:
		return "resubscribed"
	case EventPublishFailed:
		return "publish failed"
	case EventMessageDropped:
		return "message dropped"
	case EventReplyTooLarge:
		return "reply too large"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what the adapter reports through Options.OnEvent (and counts in
// Stats): every message it could not deliver or publish, and every loss and
// recovery of a subscription.
type Event struct {
	Kind EventKind
	// Nsp is the namespace concerned ("" for the connection as a whole).
	Nsp string
	// Op names the operation: "broadcast", "addSockets", "delSockets",
	// "disconnectSockets", "serverSideEmit", "fetchSockets", "reply",
	// "message", ...
	Op string
	// Channel is the Redis channel (or stream) concerned, when there is one.
	Channel string
	// Size is the payload's size in bytes (EventReplyTooLarge).
	Size int
	// Err is the cause (EventSubscriberDropped, EventPublishFailed).
	Err error
}

// monitor counts what a Client or Streams reports and calls its hook. The
// hook runs on the goroutine where the event happens (rueidis' read loop for
// EventMessageDropped), never under a lock of this package.
type monitor struct {
	onEvent func(Event)

	received       atomic.Uint64
	dropped        atomic.Uint64
	publishFailed  atomic.Uint64
	subDropped     atomic.Uint64
	resubscribed   atomic.Uint64
	repliesTooBig  atomic.Uint64
	replyDropped   atomic.Uint64
	subscriptionsN atomic.Int64
}

func (m *monitor) emit(e Event) {
	switch e.Kind {
	case EventSubscriberDropped:
		m.subDropped.Add(1)
	case EventResubscribed:
		m.resubscribed.Add(1)
	case EventPublishFailed:
		m.publishFailed.Add(1)
	case EventMessageDropped:
		if e.Op == "reply" {
			m.replyDropped.Add(1)
		} else {
			m.dropped.Add(1)
		}
	case EventReplyTooLarge:
		m.repliesTooBig.Add(1)
	}
	if m.onEvent != nil {
		m.onEvent(e)
	}
}

func (m *monitor) stats() Stats {
	return Stats{
		Received:          m.received.Load(),
		Dropped:           m.dropped.Load(),
		PublishFailed:     m.publishFailed.Load(),
		RepliesDropped:    m.replyDropped.Load(),
		RepliesTooLarge:   m.repliesTooBig.Load(),
		SubscriberDropped: m.subDropped.Load(),
		Resubscribed:      m.resubscribed.Load(),
		RoomSubscriptions: m.subscriptionsN.Load(),
	}
}

// requestOp names the operation of a classic request in Events.
func requestOp(t wire.RequestType) string {
	switch t {
	case wire.Sockets:
		return "sockets"
	case wire.AllRooms:
		return "allRooms"
	case wire.RemoteJoin:
		return "addSockets"
	case wire.RemoteLeave:
		return "delSockets"
	case wire.RemoteDisconnect:
		return "disconnectSockets"
	case wire.RemoteFetch:
		return "fetchSockets"
	case wire.ServerSideEmit:
		return "serverSideEmit"
	case wire.BroadcastWithAck:
		return "broadcastWithAck"
	}
	return "request"
}

// messageOp names the operation of a cluster message in Events.
func messageOp(t wire.MessageType) string {
	switch t {
	case wire.MsgBroadcast:
		return "broadcast"
	case wire.MsgSocketsJoin:
		return "addSockets"
	case wire.MsgSocketsLeave:
		return "delSockets"
	case wire.MsgDisconnectSockets:
		return "disconnectSockets"
	case wire.MsgFetchSockets, wire.MsgFetchSocketsResponse:
		return "fetchSockets"
	case wire.MsgServerSideEmit, wire.MsgServerSideEmitResponse:
		return "serverSideEmit"
	case wire.MsgBroadcastClientCount, wire.MsgBroadcastAck:
		return "broadcastWithAck"
	}
	return "message"
}
