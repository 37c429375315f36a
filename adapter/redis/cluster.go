package redis

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// clusterNode is the socket.io-adapter ClusterAdapter protocol of one
// namespace, whatever carries its messages (the sharded adapter's pub/sub, the
// streams adapter's stream and pub/sub): it applies the messages of the other
// servers to the local sockets, answers their requests and collects the
// answers to this server's requests. A transport supplies how to answer.
type clusterNode struct {
	uid, nsp string
	mem      *adapter.Memory
	ctx      context.Context
	timeout  time.Duration // the default of an ack broadcast's timeout (RequestsTimeout)
	reqs     *requests

	// reply sends an answer to server uid from the handling goroutine;
	// replyLater from a socket's ack callback (it must not block).
	reply, replyLater func(uid string, m *wire.ClusterMessage)
	// serverSideEmit hands a server-side emit to the namespace's handlers.
	serverSideEmit func(args []any, ack func(any))
	// rooms applies a SOCKETS_JOIN or SOCKETS_LEAVE locally.
	rooms func(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string, join bool)
}

func (n *clusterNode) message(t wire.MessageType) *wire.ClusterMessage {
	return &wire.ClusterMessage{Type: t, UID: n.uid, Nsp: n.nsp}
}

// onMessage handles a message of another server: an operation to apply or a
// request to answer (responses go to onResponse).
func (n *clusterNode) onMessage(m *wire.ClusterMessage) {
	if m.UID == n.uid || m.Nsp != n.nsp {
		return
	}
	ctx := n.ctx
	switch m.Type {
	case wire.MsgBroadcast:
		p, ok := fromWirePacket(m.Packet, n.nsp)
		if !ok {
			return
		}
		opts := fromWireOpts(m.Opts)
		if m.RequestID == "" {
			n.mem.Broadcast(ctx, p, opts)
			return
		}
		d := opts.Flags.Timeout
		if d <= 0 {
			d = n.timeout
		}
		actx, cancel := context.WithTimeout(ctx, d)
		context.AfterFunc(actx, cancel)
		origin, reqID := m.UID, m.RequestID
		n.mem.BroadcastWithAck(actx, p, opts, func(count int, _ []string) {
			r := n.message(wire.MsgBroadcastClientCount)
			r.RequestID, r.ClientCount = reqID, int64(count)
			n.replyLater(origin, r)
		}, func(_ string, args []any) {
			r := n.message(wire.MsgBroadcastAck)
			r.RequestID = reqID
			if len(args) > 0 {
				r.Value = materialize(args[0])
			}
			n.replyLater(origin, r)
		})
	case wire.MsgSocketsJoin, wire.MsgSocketsLeave:
		n.rooms(ctx, fromWireOpts(m.Opts), m.Rooms, m.Type == wire.MsgSocketsJoin)
	case wire.MsgDisconnectSockets:
		n.mem.DisconnectSockets(ctx, fromWireOpts(m.Opts), m.Close)
	case wire.MsgFetchSockets:
		local, _ := n.mem.FetchSockets(ctx, fromWireOpts(m.Opts))
		r := n.message(wire.MsgFetchSocketsResponse)
		r.RequestID, r.Sockets = m.RequestID, toWireSockets(local)
		n.reply(m.UID, r)
	case wire.MsgServerSideEmit:
		if len(m.Args) == 0 {
			return
		}
		if m.RequestID == "" {
			n.serverSideEmit(m.Args, nil)
			return
		}
		origin, reqID := m.UID, m.RequestID
		var called atomic.Bool
		n.serverSideEmit(m.Args, func(arg any) {
			if !called.CompareAndSwap(false, true) {
				return
			}
			r := n.message(wire.MsgServerSideEmitResponse)
			r.RequestID, r.Value = reqID, materialize(arg)
			n.replyLater(origin, r)
		})
	case wire.MsgFetchSocketsResponse, wire.MsgServerSideEmitResponse, wire.MsgBroadcastClientCount, wire.MsgBroadcastAck:
		n.onResponse(m)
	}
}

// onResponse records an answer to one of this server's requests.
func (n *clusterNode) onResponse(m *wire.ClusterMessage) {
	switch m.Type {
	case wire.MsgBroadcastClientCount:
		if ar := n.reqs.ack(m.RequestID); ar != nil {
			ar.onCount(int(m.ClientCount), nil)
		}
	case wire.MsgBroadcastAck:
		if ar := n.reqs.ack(m.RequestID); ar != nil {
			ar.onAck("", []any{treeValue{m.Value}})
		}
	case wire.MsgFetchSocketsResponse:
		n.reqs.answer(m.RequestID, func(p *pending) bool {
			if p.kind != kindFetch {
				return false
			}
			if refused(p, m.TooLarge) {
				return true
			}
			p.sockets = append(p.sockets, fromWireSockets(m.Sockets)...)
			return true
		})
	case wire.MsgServerSideEmitResponse:
		n.reqs.answer(m.RequestID, func(p *pending) bool {
			if p.kind != kindSSE {
				return false
			}
			if refused(p, m.TooLarge) {
				return true
			}
			p.answers = append(p.answers, m.Value)
			return true
		})
	}
}

// request publishes m with a fresh id (publish waits at most d) and waits at
// most d for expected answers. On a timeout the error is an
// *adapter.TimeoutError and p holds the answers received.
func (n *clusterNode) request(ctx context.Context, op string, kind pendingKind, m *wire.ClusterMessage, expected int,
	d time.Duration, publish func(context.Context, *wire.ClusterMessage) error) (*pending, error) {
	m.RequestID = randomHex(8)
	p := n.reqs.register(m.RequestID, kind, expected)
	if err := publish(ctx, m); err != nil {
		n.reqs.unregister(m.RequestID)
		return nil, err
	}
	if err := n.reqs.wait(ctx, m.RequestID, p, d); err != nil {
		return p, n.reqs.timeoutErr(op, p, err)
	}
	return p, nil
}
