package redis

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// Classic protocol (@socket.io/redis-adapter createAdapter).

func (a *Adapter) classicBroadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	b := &wire.Broadcast{UID: a.uid, Packet: *toWirePacket(p, a.nsp, false), Opts: *toWireOpts(opts)}
	payload, err := a.opts.Codec.AppendBroadcast(nil, b)
	if err != nil {
		return err
	}
	ch := a.channel
	if len(opts.Rooms) == 1 {
		ch = classicRoomChannel(a.key, a.nsp, opts.Rooms[0])
	}
	return a.c.publish(ctx, a.nsp, "broadcast", ch, payload, a.opts.PublishTimeout)
}

func (a *Adapter) classicBroadcastWithAck(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions, reqID string) error {
	return a.publishRequest(ctx, "broadcastWithAck", a.opts.PublishTimeout, &wire.Request{UID: a.uid, RequestID: reqID, Type: wire.BroadcastWithAck,
		Packet: toWirePacket(p, a.nsp, false), Opts: toWireOpts(opts)})
}

// publishRequest publishes r on the request channel, waiting at most d.
func (a *Adapter) publishRequest(ctx context.Context, op string, d time.Duration, r *wire.Request) error {
	payload, err := a.opts.Codec.AppendRequest(nil, r)
	if err != nil {
		return err
	}
	return a.c.publish(ctx, a.nsp, op, a.reqChannel, payload, d)
}

func reqOpts(opts *adapter.BroadcastOptions) *wire.Opts {
	if opts == nil {
		return &wire.Opts{}
	}
	return &wire.Opts{Rooms: opts.Rooms, Except: opts.Except}
}

func fetchRequest(a *Adapter, reqID string, opts *adapter.BroadcastOptions) *wire.Request {
	return &wire.Request{UID: a.uid, RequestID: reqID, Type: wire.RemoteFetch, Opts: reqOpts(opts)}
}

func roomsRequest(a *Adapter, reqID string) *wire.Request {
	return &wire.Request{UID: a.uid, RequestID: reqID, Type: wire.AllRooms}
}

func roomsReq(a *Adapter, opts *adapter.BroadcastOptions, rooms []string, join bool) *wire.Request {
	t := wire.RemoteLeave
	if join {
		t = wire.RemoteJoin
	}
	return &wire.Request{UID: a.uid, Type: t, Opts: reqOpts(opts), Rooms: rooms}
}

func disconnectReq(a *Adapter, opts *adapter.BroadcastOptions, close bool) *wire.Request {
	return &wire.Request{UID: a.uid, Type: wire.RemoteDisconnect, Opts: reqOpts(opts), Close: close}
}

func sseRequest(a *Adapter, args []any, reqID string) *wire.Request {
	data := make([]any, len(args))
	for i, v := range args {
		data[i] = materialize(v)
	}
	return &wire.Request{UID: a.uid, RequestID: reqID, Type: wire.ServerSideEmit, Data: data}
}

// onClassicMessage handles one message of the namespace's channels (worker goroutine).
func (a *Adapter) onClassicMessage(channel string, msg []byte) {
	switch {
	case strings.HasPrefix(channel, a.respChannel):
		a.onClassicResponse(msg)
	case channel == a.reqChannel:
		a.onClassicRequest(msg)
	case strings.HasPrefix(channel, a.channel):
		a.onClassicBroadcast(msg)
	}
}

func (a *Adapter) onClassicBroadcast(msg []byte) {
	b, err := wire.DecodeBroadcast(msg)
	if err != nil || b.UID == a.uid || b.Packet.Nsp != a.nsp {
		return
	}
	p, ok := fromWirePacket(&b.Packet, a.nsp)
	if !ok {
		return
	}
	a.mem.Broadcast(a.ctx, p, fromWireOpts(&b.Opts))
}

// respond publishes the answer to r on the common response channel, or on the
// requester's own one with PublishOnSpecificResponseChannel.
func (a *Adapter) respond(r *wire.Request, payload []byte, err error) {
	if err != nil {
		return
	}
	ch := a.respChannel
	if a.opts.PublishOnSpecificResponseChannel {
		ch = specificResponseChannel(a.key, a.nsp, r.UID)
	}
	var refuse refusal
	switch r.Type {
	case wire.RemoteFetch, wire.Sockets, wire.AllRooms:
		t, id := r.Type, r.RequestID
		refuse = func(size, limit int) ([]byte, error) {
			return wire.AppendTooLarge(nil, t, id, &wire.TooLarge{UID: a.uid, Size: int64(size), Limit: int64(limit)})
		}
	}
	a.publishAsync(requestOp(r.Type), ch, payload, refuse)
}

func (a *Adapter) onClassicRequest(msg []byte) {
	r, err := wire.DecodeRequest(msg)
	if err != nil {
		return
	}
	ctx := a.ctx
	switch r.Type {
	case wire.Sockets:
		if a.reqs.own(r.RequestID) {
			return
		}
		ids, _ := a.mem.Sockets(ctx, r.Rooms)
		payload, err := wire.AppendSocketsResponse(nil, r.RequestID, ids)
		a.respond(r, payload, err)
	case wire.AllRooms:
		if r.UID == a.uid || a.reqs.own(r.RequestID) {
			return
		}
		rooms, _ := a.mem.Rooms(ctx)
		payload, err := wire.AppendRoomsResponse(nil, r.RequestID, rooms)
		a.respond(r, payload, err)
	case wire.RemoteJoin, wire.RemoteLeave:
		if r.UID == a.uid { // applied locally when it was sent
			return
		}
		join := r.Type == wire.RemoteJoin
		if r.Opts != nil {
			a.applyRooms(ctx, fromWireOpts(r.Opts), r.Rooms, join)
			return
		}
		// old single-socket format
		if !a.mem.HasSocket(r.Sid) {
			return
		}
		if join {
			a.AddAll(ctx, r.Sid, []string{r.Room})
		} else {
			a.Del(ctx, r.Sid, r.Room)
		}
		payload, err := wire.AppendRequestIDResponse(nil, r.RequestID)
		a.respond(r, payload, err)
	case wire.RemoteDisconnect:
		if r.UID == a.uid {
			return
		}
		if r.Opts != nil {
			a.mem.DisconnectSockets(ctx, fromWireOpts(r.Opts), r.Close)
			return
		}
		if !a.mem.HasSocket(r.Sid) {
			return
		}
		a.ns.Disconnect(r.Sid, r.Close)
		payload, err := wire.AppendRequestIDResponse(nil, r.RequestID)
		a.respond(r, payload, err)
	case wire.RemoteFetch:
		if r.UID == a.uid || a.reqs.own(r.RequestID) {
			return
		}
		local, _ := a.mem.FetchSockets(ctx, fromWireOpts(r.Opts))
		payload, err := wire.AppendFetchResponse(nil, r.RequestID, toWireSockets(local))
		a.respond(r, payload, err)
	case wire.ServerSideEmit:
		if r.UID == a.uid || len(r.Data) == 0 {
			return
		}
		if r.RequestID == "" {
			a.serverSideEmit(r.Data, nil)
			return
		}
		reqID := r.RequestID
		var called atomic.Bool
		a.serverSideEmit(r.Data, func(arg any) {
			if !called.CompareAndSwap(false, true) {
				return
			}
			payload, err := wire.AppendServerSideEmitAck(nil, reqID, materialize(arg))
			if err == nil {
				// Node always answers a server-side emit on the common channel.
				a.publishAsync("serverSideEmit", a.respChannel, payload, func(size, limit int) ([]byte, error) {
					return wire.AppendTooLarge(nil, wire.ServerSideEmit, reqID,
						&wire.TooLarge{UID: a.uid, Size: int64(size), Limit: int64(limit)})
				})
			}
		})
	case wire.BroadcastWithAck:
		if r.UID == a.uid || a.reqs.own(r.RequestID) || r.Packet == nil {
			return
		}
		p, ok := fromWirePacket(r.Packet, a.nsp)
		if !ok {
			return
		}
		opts := fromWireOpts(r.Opts)
		d := opts.Flags.Timeout
		if d <= 0 {
			d = a.opts.RequestsTimeout
		}
		actx, cancel := context.WithTimeout(a.ctx, d)
		context.AfterFunc(actx, cancel)
		reqID := r.RequestID
		a.mem.BroadcastWithAck(actx, p, opts, func(n int, _ []string) {
			payload, err := wire.AppendClientCount(nil, reqID, int64(n))
			a.respond(r, payload, err)
		}, func(_ string, args []any) {
			var arg any
			if len(args) > 0 {
				arg = materialize(args[0])
			}
			payload, err := a.opts.Codec.AppendBroadcastAck(nil, reqID, arg)
			a.respond(r, payload, err)
		})
	}
}

func (a *Adapter) onClassicResponse(msg []byte) {
	r, err := wire.DecodeResponse(msg)
	if err != nil || r.RequestID == "" {
		return
	}
	if ar := a.reqs.ack(r.RequestID); ar != nil {
		switch r.Type {
		case wire.BroadcastClientCount:
			ar.onCount(int(r.ClientCount), nil)
		case wire.BroadcastAck:
			ar.onAck("", []any{treeValue{r.Packet}})
		}
		return
	}
	a.reqs.answer(r.RequestID, func(p *pending) bool {
		if refused(p, r.TooLarge) {
			return true
		}
		switch p.kind {
		case kindFetch:
			if r.HasSockets {
				p.sockets = append(p.sockets, fromWireSockets(r.Sockets)...)
			}
		case kindRooms:
			for _, room := range r.Rooms {
				p.rooms[room] = struct{}{}
			}
		case kindSSE:
			p.answers = append(p.answers, r.Data)
		}
		return true
	})
}
