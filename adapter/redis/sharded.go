package redis

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// Sharded protocol (createShardedAdapter over socket.io-adapter's ClusterAdapter).

// publishCluster publishes m on channel, waiting at most d.
func (a *Adapter) publishCluster(ctx context.Context, op string, d time.Duration, channel string, m *wire.ClusterMessage) error {
	payload, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return err
	}
	return a.c.publish(ctx, a.nsp, op, channel, payload, d)
}

func (a *Adapter) message(t wire.MessageType) *wire.ClusterMessage {
	return &wire.ClusterMessage{Type: t, UID: a.uid, Nsp: a.nsp}
}

// shardedBroadcast publishes a BROADCAST (with reqID when acks are wanted) on
// the channel Node would choose: a dynamic room channel only for a broadcast
// without ack to exactly one room that has its own channel.
func (a *Adapter) shardedBroadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions, reqID string) error {
	m := a.message(wire.MsgBroadcast)
	wp := toWirePacket(p, "", true)
	m.Packet, m.Opts, m.RequestID = wp, toWireOpts(opts), reqID
	ch := a.channel
	if reqID == "" && len(opts.Rooms) == 1 {
		room := opts.Rooms[0]
		switch a.opts.SubscriptionMode {
		case Dynamic:
			if !looksLikeASocketID(room) {
				ch = shardedSubChannel(a.key, a.nsp, room)
			}
		case DynamicPrivate:
			ch = shardedSubChannel(a.key, a.nsp, room)
		}
	}
	op := "broadcast"
	if reqID != "" {
		op = "broadcastWithAck"
	}
	return a.publishCluster(ctx, op, a.opts.PublishTimeout, ch, m)
}

func fetchMessage(a *Adapter, reqID string, opts *adapter.BroadcastOptions) *wire.ClusterMessage {
	m := a.message(wire.MsgFetchSockets)
	m.RequestID, m.Opts = reqID, toWireOpts(opts)
	return m
}

func roomsMessage(a *Adapter, opts *adapter.BroadcastOptions, rooms []string, join bool) *wire.ClusterMessage {
	t := wire.MsgSocketsLeave
	if join {
		t = wire.MsgSocketsJoin
	}
	m := a.message(t)
	m.Opts, m.Rooms = toWireOpts(opts), rooms
	return m
}

func disconnectMessage(a *Adapter, opts *adapter.BroadcastOptions, close bool) *wire.ClusterMessage {
	m := a.message(wire.MsgDisconnectSockets)
	m.Opts, m.Close = toWireOpts(opts), close
	return m
}

func sseMessage(a *Adapter, args []any, reqID string) *wire.ClusterMessage {
	m := a.message(wire.MsgServerSideEmit)
	data := make([]any, len(args))
	for i, v := range args {
		data[i] = materialize(v)
	}
	m.Args, m.RequestID = data, reqID
	return m
}

// respondTo publishes a response on the requester's channel {p}#{nsp}#{uid}#.
func (a *Adapter) respondTo(uid string, m *wire.ClusterMessage) {
	payload, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return
	}
	a.publishAsync(messageOp(m.Type), shardedSubChannel(a.key, a.nsp, uid), payload)
}

// onShardedMessage handles one message (worker goroutine): on the response
// channel it is a response, anywhere else a message.
func (a *Adapter) onShardedMessage(channel string, msg []byte) {
	m, err := wire.DecodeClusterMessage(msg)
	if err != nil {
		return
	}
	if channel == a.specChannel {
		a.onClusterResponse(m)
		return
	}
	if m.UID == a.uid || m.Nsp != a.nsp {
		return
	}
	ctx := a.ctx
	switch m.Type {
	case wire.MsgBroadcast:
		p, ok := fromWirePacket(m.Packet, a.nsp)
		if !ok {
			return
		}
		opts := fromWireOpts(m.Opts)
		if m.RequestID == "" {
			a.mem.Broadcast(ctx, p, opts)
			return
		}
		d := opts.Flags.Timeout
		if d <= 0 {
			d = a.opts.RequestsTimeout
		}
		actx, cancel := context.WithTimeout(a.ctx, d)
		context.AfterFunc(actx, cancel)
		origin, reqID := m.UID, m.RequestID
		a.mem.BroadcastWithAck(actx, p, opts, func(n int, _ []string) {
			r := a.message(wire.MsgBroadcastClientCount)
			r.RequestID, r.ClientCount = reqID, int64(n)
			a.respondTo(origin, r)
		}, func(_ string, args []any) {
			r := a.message(wire.MsgBroadcastAck)
			r.RequestID = reqID
			if len(args) > 0 {
				r.Value = materialize(args[0])
			}
			a.respondTo(origin, r)
		})
	case wire.MsgSocketsJoin, wire.MsgSocketsLeave:
		a.applyRooms(ctx, fromWireOpts(m.Opts), m.Rooms, m.Type == wire.MsgSocketsJoin)
	case wire.MsgDisconnectSockets:
		a.mem.DisconnectSockets(ctx, fromWireOpts(m.Opts), m.Close)
	case wire.MsgFetchSockets:
		local, _ := a.mem.FetchSockets(ctx, fromWireOpts(m.Opts))
		r := a.message(wire.MsgFetchSocketsResponse)
		r.RequestID, r.Sockets = m.RequestID, toWireSockets(local)
		a.respondTo(m.UID, r)
	case wire.MsgServerSideEmit:
		if len(m.Args) == 0 {
			return
		}
		if m.RequestID == "" {
			a.serverSideEmit(m.Args, nil)
			return
		}
		origin, reqID := m.UID, m.RequestID
		var called atomic.Bool
		a.serverSideEmit(m.Args, func(arg any) {
			if !called.CompareAndSwap(false, true) {
				return
			}
			r := a.message(wire.MsgServerSideEmitResponse)
			r.RequestID, r.Value = reqID, materialize(arg)
			a.respondTo(origin, r)
		})
	case wire.MsgFetchSocketsResponse, wire.MsgServerSideEmitResponse, wire.MsgBroadcastClientCount, wire.MsgBroadcastAck:
		a.onClusterResponse(m)
	}
}

func (a *Adapter) onClusterResponse(m *wire.ClusterMessage) {
	switch m.Type {
	case wire.MsgBroadcastClientCount:
		if ar := a.ackRequest(m.RequestID); ar != nil {
			ar.onCount(int(m.ClientCount), nil)
		}
	case wire.MsgBroadcastAck:
		if ar := a.ackRequest(m.RequestID); ar != nil {
			ar.onAck("", []any{treeValue{m.Value}})
		}
	case wire.MsgFetchSocketsResponse:
		a.answer(m.RequestID, func(p *pending) {
			if p.kind == kindFetch {
				p.sockets = append(p.sockets, fromWireSockets(m.Sockets)...)
			}
		})
	case wire.MsgServerSideEmitResponse:
		a.answer(m.RequestID, func(p *pending) {
			if p.kind == kindSSE {
				p.answers = append(p.answers, m.Value)
			}
		})
	}
}
