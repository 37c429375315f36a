package wire

import (
	"fmt"

	"github.com/corvid-io/corvid/internal/msgpack"
)

// Codec is the classic protocol's parser option (Node's opts.parser): the
// encoding of broadcasts, of BROADCAST (7) requests and of BROADCAST_ACK (9)
// responses. The other requests and responses are always JSON. Decoders
// accept both codecs whatever the option.
type Codec int

const (
	// Msgpack is notepack.io, Node's default.
	Msgpack Codec = iota
	// JSON is {encode: JSON.stringify, decode: JSON.parse}; binary becomes
	// {"type":"Buffer","data":[..]} objects, as in Node.
	JSON
)

func (c Codec) append(dst []byte, v any) ([]byte, error) {
	if c == JSON {
		return appendJSON(dst, v)
	}
	return appendMsgpack(dst, v)
}

// AppendBroadcast appends the msgpack encoding of b: [uid, {type, data, nsp},
// {rooms, except, flags}], in the classic adapter's key order.
func AppendBroadcast(dst []byte, b *Broadcast) ([]byte, error) {
	return Msgpack.AppendBroadcast(dst, b)
}

// AppendBroadcast is the package function AppendBroadcast with codec c.
func (c Codec) AppendBroadcast(dst []byte, b *Broadcast) ([]byte, error) {
	if c == JSON {
		return appendJSON(dst, []any{b.UID, b.Packet.tree(true), b.Opts.tree(true)})
	}
	// The hot path, written directly (same bytes as the tree form).
	start := len(dst)
	dst = msgpack.AppendArrayHeader(dst, 3)
	dst = msgpack.AppendString(dst, b.UID)
	n := 2
	if b.Packet.Nsp != "" {
		n = 3
	}
	dst = msgpack.AppendMapHeader(dst, n)
	dst = msgpack.AppendString(dst, "type")
	dst = msgpack.AppendInt(dst, int64(b.Packet.Type))
	dst = msgpack.AppendString(dst, "data")
	dst = msgpack.AppendArrayHeader(dst, len(b.Packet.Data))
	var err error
	for _, v := range b.Packet.Data {
		if dst, err = msgpack.Append(dst, v); err != nil {
			return dst[:start], fmt.Errorf("wire: msgpack: %w", err)
		}
	}
	if n == 3 {
		dst = msgpack.AppendString(dst, "nsp")
		dst = msgpack.AppendString(dst, b.Packet.Nsp)
	}
	dst = msgpack.AppendMapHeader(dst, 3)
	dst = appendStringsMsgpack(msgpack.AppendString(dst, "rooms"), b.Opts.Rooms)
	dst = appendStringsMsgpack(msgpack.AppendString(dst, "except"), b.Opts.Except)
	dst = msgpack.AppendString(dst, "flags")
	return b.Opts.Flags.tree().AppendMsgpack(dst)
}

func appendStringsMsgpack(dst []byte, ss []string) []byte {
	dst = msgpack.AppendArrayHeader(dst, len(ss))
	for _, s := range ss {
		dst = msgpack.AppendString(dst, s)
	}
	return dst
}

// AppendEmitterBroadcast is AppendBroadcast in @socket.io/redis-emitter's key
// order for opts: {rooms, flags, except}, with the uid "emitter".
func AppendEmitterBroadcast(dst []byte, p *Packet, o *Opts) ([]byte, error) {
	return Msgpack.AppendEmitterBroadcast(dst, p, o)
}

// AppendEmitterBroadcast is the package function AppendEmitterBroadcast with codec c.
func (c Codec) AppendEmitterBroadcast(dst []byte, p *Packet, o *Opts) ([]byte, error) {
	opts := obj{{"rooms", nonNilStrings(o.Rooms)}, {"flags", o.Flags.tree()}, {"except", nonNilStrings(o.Except)}}
	return c.append(dst, []any{EmitterUID, p.tree(true), opts})
}

// DecodeBroadcast decodes a classic broadcast (msgpack, or JSON with a custom
// Node parser: a JSON array is accepted too). A packet without nsp gets "/", as
// in Node.
func DecodeBroadcast(b []byte) (*Broadcast, error) {
	var v any
	var err error
	if len(b) > 0 && b[0] == '[' {
		v, err = decodeJSON(b)
	} else {
		v, err = decodeAny(b)
	}
	if err != nil {
		return nil, err
	}
	l, ok := v.([]any)
	if !ok || len(l) < 3 {
		return nil, malformed("broadcast is not [uid, packet, opts]")
	}
	out := &Broadcast{}
	uid, ok := jsString(l[0])
	if !ok && l[0] != nil {
		return nil, malformed("uid is a %T", l[0])
	}
	out.UID = uid
	p, err := readPacket(l[1])
	if err != nil {
		return nil, err
	}
	if _, has := l[1].(map[string]any)["nsp"]; !has {
		p.Nsp = "/"
	}
	out.Packet = *p
	o, err := readOpts(l[2])
	if err != nil {
		return nil, err
	}
	out.Opts = *o
	return out, nil
}

// AppendRequest appends the encoding of r as Node writes it: msgpack for
// BroadcastWithAck, JSON for every other type. The keys follow Node's order;
// an empty UID is omitted (the emitter's join, leave and disconnect).
func AppendRequest(dst []byte, r *Request) ([]byte, error) { return Msgpack.AppendRequest(dst, r) }

// AppendRequest is the package function AppendRequest with codec c (used for
// BroadcastWithAck).
func (c Codec) AppendRequest(dst []byte, r *Request) ([]byte, error) {
	var o obj
	if r.UID != "" {
		o = append(o, kv{"uid", r.UID})
	}
	switch r.Type {
	case AllRooms:
		o = append(o, kv{"requestId", r.RequestID}, kv{"type", int(r.Type)})
	case RemoteJoin, RemoteLeave:
		o = append(o, kv{"type", int(r.Type)}, kv{"opts", optsOrEmpty(r.Opts).tree(false)},
			kv{"rooms", nonNilStrings(r.Rooms)})
	case RemoteDisconnect:
		o = append(o, kv{"type", int(r.Type)}, kv{"opts", optsOrEmpty(r.Opts).tree(false)},
			kv{"close", r.Close})
	case RemoteFetch:
		o = append(o, kv{"requestId", r.RequestID}, kv{"type", int(r.Type)},
			kv{"opts", optsOrEmpty(r.Opts).tree(false)})
	case ServerSideEmit:
		if r.RequestID != "" {
			o = append(o, kv{"requestId", r.RequestID})
		}
		o = append(o, kv{"type", int(r.Type)}, kv{"data", nonNilAnys(r.Data)})
	case BroadcastWithAck:
		p := r.Packet
		if p == nil {
			p = &Packet{Type: 2}
		}
		o = append(o, kv{"requestId", r.RequestID}, kv{"type", int(r.Type)},
			kv{"packet", p.tree(true)}, kv{"opts", optsOrEmpty(r.Opts).tree(true)})
		return c.append(dst, o)
	case Sockets:
		o = append(o, kv{"requestId", r.RequestID}, kv{"type", int(r.Type)},
			kv{"rooms", nonNilStrings(r.Rooms)})
	default:
		return dst, malformed("cannot encode request type %d", r.Type)
	}
	return appendJSON(dst, o)
}

func optsOrEmpty(o *Opts) *Opts {
	if o == nil {
		return &Opts{}
	}
	return o
}

// DecodeRequest decodes a classic request (JSON when it starts with '{', else msgpack).
func DecodeRequest(b []byte) (*Request, error) {
	v, err := decodeAny(b)
	if err != nil {
		return nil, err
	}
	m, ok := asMap(v)
	if !ok {
		return nil, malformed("request is a %T", v)
	}
	t, ok := jsInt(m["type"])
	if !ok {
		return nil, malformed("request without a numeric type")
	}
	r := &Request{Type: RequestType(t)}
	if r.UID, err = optString(m, "uid"); err != nil {
		return nil, err
	}
	if r.RequestID, err = optString(m, "requestId"); err != nil {
		return nil, err
	}
	if ov, has := m["opts"]; has && ov != nil {
		if r.Opts, err = readOpts(ov); err != nil {
			return nil, err
		}
	}
	if rv, has := m["rooms"]; has {
		if r.Rooms, err = strList(rv, "rooms"); err != nil {
			return nil, err
		}
	}
	if c, ok := m["close"].(bool); ok {
		r.Close = c
	}
	if dv, has := m["data"]; has {
		d, ok := dv.([]any)
		if !ok {
			return nil, malformed("data is a %T", dv)
		}
		r.Data = d
	}
	if pv, has := m["packet"]; has {
		if r.Packet, err = readPacket(pv); err != nil {
			return nil, err
		}
	}
	if r.Sid, err = optString(m, "sid"); err != nil {
		return nil, err
	}
	if r.Room, err = optString(m, "room"); err != nil {
		return nil, err
	}
	return r, nil
}

// AppendFetchResponse appends {requestId, sockets:[{id, handshake, rooms, data}]} (JSON).
func AppendFetchResponse(dst []byte, requestID string, sockets []SocketInfo) ([]byte, error) {
	return appendJSON(dst, obj{{"requestId", requestID}, {"sockets", socketsTree(sockets)}})
}

// AppendSocketsResponse appends {requestId, sockets:[ids]} (JSON), the answer to SOCKETS.
func AppendSocketsResponse(dst []byte, requestID string, ids []string) ([]byte, error) {
	return appendJSON(dst, obj{{"requestId", requestID}, {"sockets", nonNilStrings(ids)}})
}

// AppendRoomsResponse appends {requestId, rooms} (JSON), the answer to ALL_ROOMS.
func AppendRoomsResponse(dst []byte, requestID string, rooms []string) ([]byte, error) {
	return appendJSON(dst, obj{{"requestId", requestID}, {"rooms", nonNilStrings(rooms)}})
}

// AppendRequestIDResponse appends {requestId} (JSON), the answer to the old
// single-socket join, leave and disconnect requests.
func AppendRequestIDResponse(dst []byte, requestID string) ([]byte, error) {
	return appendJSON(dst, obj{{"requestId", requestID}})
}

// AppendTooLarge appends the refusal of the answer to a request of type t
// (RemoteFetch, Sockets, AllRooms or ServerSideEmit) in JSON: the ordinary
// answer with an empty list (a null ack) and "replyTooLarge" (see TooLarge).
func AppendTooLarge(dst []byte, t RequestType, requestID string, tl *TooLarge) ([]byte, error) {
	var o obj
	switch t {
	case RemoteFetch, Sockets:
		o = obj{{"requestId", requestID}, {"sockets", []any{}}}
	case AllRooms:
		o = obj{{"requestId", requestID}, {"rooms", []string{}}}
	case ServerSideEmit:
		o = obj{{"type", int(ServerSideEmit)}, {"requestId", requestID}, {"data", nil}}
	default:
		return dst, malformed("no refusal for request type %d", t)
	}
	return appendJSON(dst, append(o, kv{"replyTooLarge", tl.tree()}))
}

// AppendServerSideEmitAck appends {type:6, requestId, data} (JSON).
func AppendServerSideEmitAck(dst []byte, requestID string, data any) ([]byte, error) {
	return appendJSON(dst, obj{{"type", int(ServerSideEmit)}, {"requestId", requestID}, {"data", data}})
}

// AppendClientCount appends {type:8, requestId, clientCount} (JSON).
func AppendClientCount(dst []byte, requestID string, n int64) ([]byte, error) {
	return appendJSON(dst, obj{{"type", int(BroadcastClientCount)}, {"requestId", requestID}, {"clientCount", n}})
}

// AppendBroadcastAck appends {type:9, requestId, packet} (msgpack).
func AppendBroadcastAck(dst []byte, requestID string, arg any) ([]byte, error) {
	return Msgpack.AppendBroadcastAck(dst, requestID, arg)
}

// AppendBroadcastAck is the package function AppendBroadcastAck with codec c.
func (c Codec) AppendBroadcastAck(dst []byte, requestID string, arg any) ([]byte, error) {
	return c.append(dst, obj{{"type", int(BroadcastAck)}, {"requestId", requestID}, {"packet", arg}})
}

// DecodeResponse decodes a classic response (JSON when it starts with '{', else msgpack).
func DecodeResponse(b []byte) (*Response, error) {
	v, err := decodeAny(b)
	if err != nil {
		return nil, err
	}
	m, ok := asMap(v)
	if !ok {
		return nil, malformed("response is a %T", v)
	}
	r := &Response{}
	if t, ok := jsInt(m["type"]); ok {
		r.Type, r.HasType = RequestType(t), true
	}
	if r.RequestID, err = optString(m, "requestId"); err != nil {
		return nil, err
	}
	if r.Sockets, r.HasSockets, err = readSockets(m["sockets"]); err != nil {
		return nil, err
	}
	if rv, ok := m["rooms"].([]any); ok {
		if r.Rooms, err = strList(rv, "rooms"); err != nil {
			return nil, err
		}
		r.HasRooms = true
	}
	r.Data = m["data"]
	if n, ok := jsInt(m["clientCount"]); ok {
		r.ClientCount = n
	}
	r.Packet = m["packet"]
	r.TooLarge = readTooLarge(m["replyTooLarge"])
	return r, nil
}
