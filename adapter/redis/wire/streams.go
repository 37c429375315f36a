package wire

import (
	"encoding/base64"
	"strconv"
	"unicode/utf16"
)

// The encodings of @socket.io/redis-streams-adapter 0.3.

// StreamName returns the stream of namespace nsp: name when count is 1, else
// name + "-" + (hashCode(nsp) % count) with Java's string hash over UTF-16
// code units, truncated to int32 at each step. A negative hash gives names
// such as "socket.io--1", which Node writes to but never reads; they are
// reproduced so that both sides agree on where a namespace's entries go.
func StreamName(name string, count int, nsp string) string {
	if count <= 1 {
		return name
	}
	var h int32
	for _, c := range utf16.Encode([]rune(nsp)) {
		h = h*31 + int32(c)
	}
	return name + "-" + strconv.Itoa(int(h%int32(count)))
}

// StreamEntry is the field list of one stream entry, in Node's order: uid,
// nsp, type (decimal), and data when the message has some.
type StreamEntry struct {
	UID, Nsp, Type string
	Data           string
	HasData        bool
}

// AppendStreamEntry builds the entry of m. data is JSON of the message's data
// object, or, when m may carry binary (types 3, 8, 9, 10, 12), does and
// plaintext is false, the base64 (standard, padded) of its msgpack encoding.
func AppendStreamEntry(m *ClusterMessage, plaintext bool) (StreamEntry, error) {
	e := StreamEntry{UID: m.UID, Nsp: m.Nsp, Type: strconv.Itoa(int(m.Type))}
	d, err := m.dataTree()
	if err != nil || d == nil {
		return e, err
	}
	e.HasData = true
	switch m.Type {
	case MsgBroadcast, MsgFetchSocketsResponse, MsgServerSideEmit, MsgServerSideEmitResponse, MsgBroadcastAck:
		if !plaintext && hasBinary(d) {
			b, err := appendMsgpack(nil, d)
			if err != nil {
				return e, err
			}
			e.Data = base64.StdEncoding.EncodeToString(b)
			return e, nil
		}
	}
	b, err := appendJSON(nil, d)
	if err != nil {
		return e, err
	}
	e.Data = string(b)
	return e, nil
}

// DecodeStreamEntry decodes the fields of a stream entry: data starting with
// '{' is JSON, anything else base64 of msgpack.
func DecodeStreamEntry(e StreamEntry) (*ClusterMessage, error) {
	t, err := strconv.Atoi(e.Type)
	if err != nil {
		return nil, malformed("entry type %q", e.Type)
	}
	env := obj{{"type", t}}
	if e.HasData && e.Data != "" {
		var d any
		if e.Data[0] == '{' {
			d, err = decodeJSON([]byte(e.Data))
		} else {
			var b []byte
			if b, err = base64.StdEncoding.DecodeString(e.Data); err != nil {
				return nil, malformed("entry data: %v", err)
			}
			d, err = decodeMsgpack(b)
		}
		if err != nil {
			return nil, err
		}
		env = append(env, kv{"data", d})
	}
	env = append(env, kv{"uid", e.UID}, kv{"nsp", e.Nsp})
	// Re-read through the envelope decoder (msgpack keeps binary values).
	b, err := appendMsgpack(nil, env)
	if err != nil {
		return nil, err
	}
	return DecodeClusterMessage(b)
}

// AppendClusterMessageMsgpack appends m as the streams adapter publishes its
// requests and responses: the whole envelope {type, data, uid, nsp} in
// msgpack, binary or not.
func AppendClusterMessageMsgpack(dst []byte, m *ClusterMessage) ([]byte, error) {
	env, _, err := m.envelope()
	if err != nil {
		return dst, err
	}
	return appendMsgpack(dst, env)
}

// Session is a persisted connection-state-recovery session: {sid, pid, rooms, data}.
type Session struct {
	SID, PID string
	Rooms    []string
	Data     any
}

// AppendSession returns the value the streams adapter stores under
// sessionKeyPrefix+pid: base64 of the msgpack map {sid, pid, rooms, data}.
func AppendSession(s *Session) (string, error) {
	b, err := appendMsgpack(nil, obj{{"sid", s.SID}, {"pid", s.PID}, {"rooms", nonNilStrings(s.Rooms)}, {"data", s.Data}})
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeSession decodes a value written by AppendSession (or by Node).
func DecodeSession(v string) (*Session, error) {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, malformed("session: %v", err)
	}
	d, err := decodeMsgpack(b)
	if err != nil {
		return nil, err
	}
	m, ok := asMap(d)
	if !ok {
		return nil, malformed("session is a %T", d)
	}
	s := &Session{Data: m["data"]}
	if s.SID, err = optString(m, "sid"); err != nil {
		return nil, err
	}
	if s.PID, err = optString(m, "pid"); err != nil {
		return nil, err
	}
	if s.Rooms, err = strList(m["rooms"], "rooms"); err != nil {
		return nil, err
	}
	return s, nil
}
