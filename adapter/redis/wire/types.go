package wire

import (
	"errors"
	"strconv"
)

// RequestType is the type of a classic-protocol request or response.
type RequestType int

// Classic request types (@socket.io/redis-adapter RequestType).
const (
	Sockets              RequestType = 0 // not sent by v8 nodes; answered
	AllRooms             RequestType = 1
	RemoteJoin           RequestType = 2
	RemoteLeave          RequestType = 3
	RemoteDisconnect     RequestType = 4
	RemoteFetch          RequestType = 5
	ServerSideEmit       RequestType = 6
	BroadcastWithAck     RequestType = 7
	BroadcastClientCount RequestType = 8
	BroadcastAck         RequestType = 9
)

// MessageType is the type of a cluster-protocol message (socket.io-adapter MessageType).
type MessageType int

// Cluster message types.
const (
	MsgInitialHeartbeat       MessageType = 1
	MsgHeartbeat              MessageType = 2
	MsgBroadcast              MessageType = 3
	MsgSocketsJoin            MessageType = 4
	MsgSocketsLeave           MessageType = 5
	MsgDisconnectSockets      MessageType = 6
	MsgFetchSockets           MessageType = 7
	MsgFetchSocketsResponse   MessageType = 8
	MsgServerSideEmit         MessageType = 9
	MsgServerSideEmitResponse MessageType = 10
	MsgBroadcastClientCount   MessageType = 11
	MsgBroadcastAck           MessageType = 12
	MsgAdapterClose           MessageType = 13
)

// EmitterUID is the uid of @socket.io/redis-emitter; no server may use it.
const EmitterUID = "emitter"

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("wire: malformed message")

// Packet is the Socket.IO packet carried by a broadcast: {type, data, nsp}.
// Data is the event name followed by its arguments.
type Packet struct {
	Type int    // Socket.IO packet type; always 2 (EVENT) on the wire, even with binary
	Data []any  // [event, ...args]
	Nsp  string // "" when absent (the cluster protocol omits it)
}

// Flags are the broadcast flags of opts.flags. Zero fields are not written.
type Flags struct {
	Volatile             bool
	Compress             *bool // nil: absent
	Local                bool
	Timeout              int64 // milliseconds; 0: absent
	ExpectSingleResponse bool
}

// Opts are the broadcast options {rooms, except, flags}.
type Opts struct {
	Rooms  []string
	Except []string
	Flags  *Flags // nil: no flags key (requests); encoders of broadcasts write {}
}

// Broadcast is the classic broadcast message [uid, packet, opts], published on
// {key}#{nsp}# or {key}#{nsp}#{room}#.
type Broadcast struct {
	UID    string
	Packet Packet
	Opts   Opts
}

// Request is a classic request published on {key}-request#{nsp}#. Which fields are
// meaningful depends on Type; see the RequestType table in the package notes.
type Request struct {
	Type      RequestType
	UID       string // "" when absent (the emitter's join, leave and disconnect)
	RequestID string // "" when absent
	Opts      *Opts  // join, leave, disconnect, fetch, broadcast; nil: absent (old format)
	Rooms     []string
	Close     bool
	Data      []any   // server-side emit: [event, ...args]
	Packet    *Packet // BroadcastWithAck
	// Old single-socket format of join, leave and disconnect (pre-v7 nodes).
	Sid, Room string
}

// SocketInfo is one socket of a fetch response: {id, handshake, rooms, data}.
type SocketInfo struct {
	ID        string
	Handshake any
	Rooms     []string
	Data      any
}

// Response is a classic response published on {key}-response#{nsp}# (or the
// requester's specific channel).
type Response struct {
	Type        RequestType // 0 when absent: the fetch, rooms and sockets responses have no type
	HasType     bool
	RequestID   string
	Sockets     []SocketInfo // REMOTE_FETCH (objects) or SOCKETS (ids in ID)
	HasSockets  bool         // the key was a list (Node ignores responses whose list is missing)
	Rooms       []string     // ALL_ROOMS
	HasRooms    bool
	Data        any   // SERVER_SIDE_EMIT ack: the first ack argument
	ClientCount int64 // BROADCAST_CLIENT_COUNT
	Packet      any   // BROADCAST_ACK: the first ack argument
	// TooLarge: the answer was refused for its size (Corvid's extension,
	// see TooLarge); nil in an ordinary answer.
	TooLarge *TooLarge
}

// TooLarge is what a Corvid server sends, in place of its answer to a request
// (fetch, sockets, all rooms, server-side emit ack), when the answer would be
// larger than its limit: an ordinary answer with an empty list (a null ack)
// and the key "replyTooLarge": {uid, size, limit}. A Node server ignores the
// key and counts the answer as an empty one, so its request completes; a
// Corvid requester fails its request with this refusal.
type TooLarge struct {
	UID   string // the server that refused
	Size  int64  // the size of the answer, in bytes
	Limit int64  // the limit of that server (its MaxReplySize)
}

func (t *TooLarge) tree() obj {
	return obj{{"uid", t.UID}, {"size", t.Size}, {"limit", t.Limit}}
}

// readTooLarge reads the "replyTooLarge" key of an answer; nil when absent
// or not an object.
func readTooLarge(v any) *TooLarge {
	m, ok := asMap(v)
	if !ok {
		return nil
	}
	t := &TooLarge{}
	t.UID, _ = m["uid"].(string)
	t.Size, _ = jsInt(m["size"])
	t.Limit, _ = jsInt(m["limit"])
	return t
}

// ClusterMessage is the cluster-protocol envelope {type, data, uid, nsp}. Which
// data fields are meaningful depends on Type.
type ClusterMessage struct {
	Type MessageType
	UID  string
	Nsp  string

	RequestID   string       // 3 (with ack), 7, 8, 9 (with ack), 10, 11, 12
	Packet      *Packet      // 3
	Opts        *Opts        // 3, 4, 5, 6, 7
	Rooms       []string     // 4, 5
	Close       bool         // 6
	Sockets     []SocketInfo // 8
	Args        []any        // 9: [event, ...args]
	Value       any          // 10, 12: the first ack argument
	ClientCount int64        // 11
	TooLarge    *TooLarge    // 8, 10: the answer was refused for its size
}

// jsString converts a decoded room (a string, or a number as Node allows) to a string.
func jsString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	}
	return "", false
}

// jsInt converts a decoded number to an int64.
func jsInt(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		if x != x || x > 9.3e18 || x < -9.3e18 {
			return 0, false
		}
		return int64(x), true
	case float32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	}
	return 0, false
}
