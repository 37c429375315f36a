package redis

import (
	"context"
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
	a.publishAsync(messageOp(m.Type), shardedSubChannel(a.key, a.nsp, uid), payload,
		clusterRefusal(m, wire.AppendClusterMessage))
}

// clusterRefusal makes the refusal of answer m (a fetch response or a
// server-side emit ack; nil for the others), encoded by enc: m without its
// sockets or value, with wire.TooLarge.
func clusterRefusal(m *wire.ClusterMessage, enc func([]byte, *wire.ClusterMessage) ([]byte, error)) refusal {
	if m.Type != wire.MsgFetchSocketsResponse && m.Type != wire.MsgServerSideEmitResponse {
		return nil
	}
	return func(size, limit int) ([]byte, error) {
		r := *m
		r.Sockets, r.Value = nil, nil
		r.TooLarge = &wire.TooLarge{UID: m.UID, Size: int64(size), Limit: int64(limit)}
		return enc(nil, &r)
	}
}

// onShardedMessage handles one message (worker goroutine): on the response
// channel it is a response, anywhere else a message.
func (a *Adapter) onShardedMessage(channel string, msg []byte) {
	m, err := wire.DecodeClusterMessage(msg)
	if err != nil {
		return
	}
	if channel == a.specChannel {
		a.cn.onResponse(m)
		return
	}
	a.cn.onMessage(m)
}
