package wire

// dataTree builds m's data object in socket.io-adapter's key order; nil for the
// types without data.
func (m *ClusterMessage) dataTree() (obj, error) {
	switch m.Type {
	case MsgBroadcast:
		p := m.Packet
		if p == nil {
			p = &Packet{Type: 2}
		}
		d := obj{{"packet", p.tree(false)}}
		if m.RequestID != "" {
			d = append(d, kv{"requestId", m.RequestID})
		}
		return append(d, kv{"opts", optsOrEmpty(m.Opts).tree(true)}), nil
	case MsgSocketsJoin, MsgSocketsLeave:
		return obj{{"opts", optsOrEmpty(m.Opts).tree(true)}, {"rooms", nonNilStrings(m.Rooms)}}, nil
	case MsgDisconnectSockets:
		return obj{{"opts", optsOrEmpty(m.Opts).tree(true)}, {"close", m.Close}}, nil
	case MsgFetchSockets:
		return obj{{"opts", optsOrEmpty(m.Opts).tree(true)}, {"requestId", m.RequestID}}, nil
	case MsgFetchSocketsResponse:
		d := obj{{"requestId", m.RequestID}, {"sockets", socketsTree(m.Sockets)}}
		if m.TooLarge != nil {
			d = append(d, kv{"replyTooLarge", m.TooLarge.tree()})
		}
		return d, nil
	case MsgServerSideEmit:
		d := obj{{"packet", nonNilAnys(m.Args)}}
		if m.RequestID != "" {
			d = append(d, kv{"requestId", m.RequestID})
		}
		return d, nil
	case MsgServerSideEmitResponse, MsgBroadcastAck:
		d := obj{{"requestId", m.RequestID}, {"packet", m.Value}}
		if m.TooLarge != nil && m.Type == MsgServerSideEmitResponse {
			d = append(d, kv{"replyTooLarge", m.TooLarge.tree()})
		}
		return d, nil
	case MsgBroadcastClientCount:
		return obj{{"requestId", m.RequestID}, {"clientCount", m.ClientCount}}, nil
	case MsgInitialHeartbeat, MsgHeartbeat, MsgAdapterClose:
		return nil, nil
	}
	return nil, malformed("cannot encode message type %d", m.Type)
}

// envelope is m as {type, data, uid, nsp} (data left out when m has none),
// and its data.
func (m *ClusterMessage) envelope() (obj, obj, error) {
	d, err := m.dataTree()
	if err != nil {
		return nil, nil, err
	}
	env := obj{{"type", int(m.Type)}}
	if d != nil {
		env = append(env, kv{"data", d})
	}
	return append(env, kv{"uid", m.UID}, kv{"nsp", m.Nsp}), d, nil
}

// AppendClusterMessage appends m as the sharded adapter writes it: JSON
// {type, data, uid, nsp}, or the same envelope in msgpack when m is a
// broadcast, a fetch response, a server-side emit or one of their answers and
// its data holds binary.
func AppendClusterMessage(dst []byte, m *ClusterMessage) ([]byte, error) {
	env, d, err := m.envelope()
	if err != nil {
		return dst, err
	}
	switch m.Type {
	case MsgBroadcast, MsgBroadcastAck, MsgFetchSocketsResponse, MsgServerSideEmit, MsgServerSideEmitResponse:
		if hasBinary(d) {
			return appendMsgpack(dst, env)
		}
	}
	return appendJSON(dst, env)
}

// DecodeClusterMessage decodes a cluster message (JSON when it starts with '{',
// else msgpack).
func DecodeClusterMessage(b []byte) (*ClusterMessage, error) {
	v, err := decodeAny(b)
	if err != nil {
		return nil, err
	}
	env, ok := asMap(v)
	if !ok {
		return nil, malformed("message is a %T", v)
	}
	t, ok := jsInt(env["type"])
	if !ok {
		return nil, malformed("message without a numeric type")
	}
	m := &ClusterMessage{Type: MessageType(t)}
	if m.UID, err = optString(env, "uid"); err != nil {
		return nil, err
	}
	if m.Nsp, err = optString(env, "nsp"); err != nil {
		return nil, err
	}
	dv := env["data"]
	var d map[string]any
	if dv != nil {
		if d, ok = asMap(dv); !ok {
			return nil, malformed("data is a %T", dv)
		}
	}
	need := func() error {
		if d == nil {
			return malformed("message type %d without data", t)
		}
		return nil
	}
	switch m.Type {
	case MsgInitialHeartbeat, MsgHeartbeat, MsgAdapterClose:
		return m, nil
	}
	if err := need(); err != nil {
		return nil, err
	}
	if m.RequestID, err = optString(d, "requestId"); err != nil {
		return nil, err
	}
	switch m.Type {
	case MsgBroadcast, MsgSocketsJoin, MsgSocketsLeave, MsgDisconnectSockets, MsgFetchSockets:
		if m.Opts, err = readOpts(d["opts"]); err != nil {
			return nil, err
		}
	}
	switch m.Type {
	case MsgFetchSocketsResponse, MsgServerSideEmitResponse:
		m.TooLarge = readTooLarge(d["replyTooLarge"])
	}
	switch m.Type {
	case MsgBroadcast:
		if m.Packet, err = readPacket(d["packet"]); err != nil {
			return nil, err
		}
	case MsgSocketsJoin, MsgSocketsLeave:
		if m.Rooms, err = strList(d["rooms"], "rooms"); err != nil {
			return nil, err
		}
	case MsgDisconnectSockets:
		m.Close, _ = d["close"].(bool)
	case MsgFetchSockets:
	case MsgFetchSocketsResponse:
		var has bool
		if m.Sockets, has, err = readSockets(d["sockets"]); err != nil {
			return nil, err
		}
		if !has {
			return nil, malformed("fetch response without sockets")
		}
	case MsgServerSideEmit:
		a, ok := d["packet"].([]any)
		if !ok {
			return nil, malformed("server-side emit packet is a %T", d["packet"])
		}
		m.Args = a
	case MsgServerSideEmitResponse, MsgBroadcastAck:
		m.Value = d["packet"]
	case MsgBroadcastClientCount:
		n, ok := jsInt(d["clientCount"])
		if !ok {
			return nil, malformed("clientCount is a %T", d["clientCount"])
		}
		m.ClientCount = n
	default:
		return nil, malformed("unknown message type %d", t)
	}
	return m, nil
}
