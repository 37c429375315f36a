package adapter

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/corvid-io/corvid/parser"
)

// Errors returned by adapters.
var (
	// ErrClosed is returned by the methods of a closed adapter.
	ErrClosed = errors.New("adapter: closed")
	// ErrTimeout is wrapped by the error of a cluster request that did not get
	// every answer in time (see TimeoutError).
	ErrTimeout = errors.New("adapter: timeout")
)

// ErrNotPublished is wrapped by the error of an operation that was applied to
// this server's sockets but could not be published to the other servers (the
// cluster's broker is down, stalled past the publish deadline, or refused the
// message). Local delivery is complete when it is returned; the other servers'
// sockets did not get it. See PublishError.
var ErrNotPublished = errors.New("adapter: delivered locally, not published")

// PublishError reports an operation (Op: "broadcast", "addSockets",
// "serverSideEmit", ...) that reached this server's sockets but whose
// publication to the other servers failed with Err. errors.Is(err,
// ErrNotPublished) holds for it, and so does errors.Is(err, Err's chain), e.g.
// context.DeadlineExceeded when the publish deadline passed.
type PublishError struct {
	Op  string
	Err error
}

func (e *PublishError) Error() string {
	return "adapter: " + e.Op + ": delivered locally, not published: " + e.Err.Error()
}

// Unwrap returns ErrNotPublished and the cause.
func (e *PublishError) Unwrap() []error { return []error{ErrNotPublished, e.Err} }

// TimeoutError reports a cluster request that ended before every server
// answered. errors.Is(err, ErrTimeout) holds for it.
type TimeoutError struct {
	Op       string // "fetchSockets", "serverSideEmit", "broadcastWithAck", ...
	Got      int    // answers received
	Expected int    // answers expected
}

func (e *TimeoutError) Error() string {
	return "adapter: " + e.Op + ": timeout reached: only " + itoa(e.Got) +
		" responses received out of " + itoa(e.Expected)
}

// Unwrap returns ErrTimeout.
func (e *TimeoutError) Unwrap() error { return ErrTimeout }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Flags are the modifiers of a broadcast, as set by the broadcast operators.
type Flags struct {
	// Volatile: the packet may be dropped for a socket whose send queue is full
	// (it is then dropped, not queued, and the socket stays connected).
	Volatile bool
	// NoCompress asks the transport not to compress the packet (compress(false)).
	NoCompress bool
	// Local: the operation targets this server's sockets only; a cluster
	// adapter does not publish it.
	Local bool
	// Timeout bounds the wait for acknowledgements (broadcast with ack) and for
	// the answers of other servers (fetchSockets); 0 means the adapter's default.
	Timeout time.Duration
	// ExpectSingleResponse is set for an emit with ack to one remote socket.
	ExpectSingleResponse bool
}

// BroadcastOptions select the sockets an operation targets: the sockets in any of
// Rooms (every socket of the namespace when Rooms is empty) that are in none of
// Except. A socket's own id is a room holding only that socket.
type BroadcastOptions struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Handshake is what a socket's client sent when it connected. It is the
// socket.io handshake object; fetchSockets carries it across a cluster.
// It is read-only: the sockets whose handshake had the same URL share one
// Query map.
type Handshake struct {
	Headers http.Header // the HTTP headers of the first request
	Time    time.Time   // when the handshake happened
	Address string      // the client's remote address
	XDomain bool        // the request had an Origin header
	Secure  bool        // the connection was made over TLS
	URL     string      // the request URL of the first request (path and query)
	Query   url.Values  // the query of the first request
	// Auth is the CONNECT payload: a parser.Value for a socket of this server,
	// a decoded Go value (map[string]any, ...) for a socket of another server,
	// nil when the client sent none.
	Auth any
}

// Issued returns the handshake time in milliseconds since the Unix epoch.
func (h *Handshake) Issued() int64 { return h.Time.UnixMilli() }

// SocketInfo describes one socket for FetchSockets.
type SocketInfo struct {
	ID        string
	Handshake *Handshake
	Rooms     []string
	// Data is the socket's user data (Socket.SetData). It crosses the cluster
	// as a serialised value, so use types that survive JSON/msgpack.
	Data any
	// Local is true for a socket of this server.
	Local bool
}

// Namespace is what the namespace gives its adapter to reach the sockets of this
// server. The adapter knows no server: it keeps the rooms index and calls these
// methods. Every method is safe for concurrent use and never blocks on a peer.
type Namespace interface {
	// Name returns the namespace name, e.g. "/" or "/admin".
	Name() string
	// Encode encodes p with the namespace's parser. A broadcast is encoded once
	// and the same messages are delivered to every target.
	Encode(p *parser.Packet) ([]parser.Message, error)
	// Deliver queues msgs (one encoded packet) for the local socket id. The
	// messages are shared between targets and must not be modified. With
	// flags.Volatile a full send queue drops them; otherwise a full queue
	// disconnects the socket (slow consumer). It returns false when no such
	// socket is connected or the messages were dropped.
	Deliver(id string, msgs []parser.Message, flags *Flags) bool
	// NextAckID allocates an acknowledgement id, unique in the namespace.
	NextAckID() uint64
	// DeliverWithAck is Deliver for a packet carrying ack id ackID: onAck is
	// called once with the socket's answer, unless ctx ends first (the
	// registration is then dropped). onAck runs on the goroutine that reads
	// the socket's connection and must not block.
	DeliverWithAck(ctx context.Context, id string, msgs []parser.Message, flags *Flags,
		ackID uint64, onAck func(args []any)) bool
	// SocketInfo returns the details of the local socket id; rooms are filled
	// in by the adapter.
	SocketInfo(id string) (SocketInfo, bool)
	// Disconnect disconnects the local socket id from the namespace (reason
	// "server namespace disconnect"), and closes its underlying connection when
	// close is true.
	Disconnect(id string, close bool)
	// ServerSideEmit dispatches an event another server sent with
	// ServerSideEmit. args[0] is the event name. ack is nil when the sender
	// wants no answer; otherwise it must be called once with the answer.
	ServerSideEmit(args []any, ack func(arg any))
}

// Adapter keeps the rooms of a namespace's local sockets and routes the
// namespace's multi-socket operations, to the local sockets and, for a cluster
// adapter, to the other servers.
//
// Delivery is at most once: a broadcast reaches the sockets connected when it is
// applied on each server. Room changes apply to the local index before the
// method returns. Every method is safe for concurrent use; none calls the
// Namespace while holding a lock the Namespace could need.
type Adapter interface {
	// AddAll adds the local socket id to rooms.
	AddAll(ctx context.Context, id string, rooms []string) error
	// Del removes the local socket id from room.
	Del(ctx context.Context, id, room string) error
	// DelAll removes the local socket id from every room (at disconnect).
	DelAll(ctx context.Context, id string) error
	// SocketRooms returns the rooms of the local socket id (nil when unknown).
	SocketRooms(id string) []string
	// Sockets returns the ids of the local sockets in any of rooms (all local
	// sockets when rooms is empty).
	Sockets(ctx context.Context, rooms []string) ([]string, error)
	// Rooms returns the rooms that have at least one local socket.
	Rooms(ctx context.Context) ([]string, error)

	// Broadcast sends p (Namespace set, HasID false) to the targets of opts on
	// every server (this one only with opts.Flags.Local).
	Broadcast(ctx context.Context, p *parser.Packet, opts *BroadcastOptions) error
	// BroadcastWithAck sends p and asks every target for an acknowledgement.
	// It sets p's ack id itself. Each server calls onCount once with the number
	// of sockets the packet went to (ids lists them for this server, nil for
	// another), then onAck once per answer (socketID is "" when the answer
	// came from another server). Callbacks may run on any goroutine until ctx
	// ends; BroadcastWithAck itself does not wait for them.
	BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *BroadcastOptions,
		onCount func(n int, ids []string), onAck func(socketID string, args []any)) error
	// ServerCount returns the number of servers in the cluster, this one
	// included (1 for a single server).
	ServerCount(ctx context.Context) (int, error)

	// FetchSockets returns the targets of opts on every server.
	FetchSockets(ctx context.Context, opts *BroadcastOptions) ([]SocketInfo, error)
	// AddSockets makes the targets of opts join rooms.
	AddSockets(ctx context.Context, opts *BroadcastOptions, rooms []string) error
	// DelSockets makes the targets of opts leave rooms.
	DelSockets(ctx context.Context, opts *BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the targets of opts (and closes their
	// connections when close is true).
	DisconnectSockets(ctx context.Context, opts *BroadcastOptions, close bool) error
	// ServerSideEmit sends args (event name first) to the namespace on every
	// other server; it is not dispatched on this server.
	ServerSideEmit(ctx context.Context, args []any) error
	// ServerSideEmitWithAck does the same and waits for one answer per other
	// server until ctx ends. It returns the answers received; when some are
	// missing the error is a *TimeoutError (or ctx's error).
	ServerSideEmitWithAck(ctx context.Context, args []any) ([]any, error)

	// Close releases the adapter; the namespace calls it when it is removed or
	// the server shuts down.
	Close(ctx context.Context) error
}

// RoomCounter is implemented by an Adapter that counts a socket's rooms
// without copying them (Memory does). socketio uses it to enforce
// ServerOptions.MaxRoomsPerSocket at a cost proportional to the rooms joined,
// not to the rooms the socket is already in; without it, it counts
// SocketRooms.
type RoomCounter interface {
	// SocketRoomCount returns the number of rooms the local socket id would
	// be in after joining rooms: its rooms, its own room not counted, plus
	// each of rooms it is not in yet (counted once).
	SocketRoomCount(id string, rooms []string) int
}

// Factory creates the adapter of a namespace. socketio.ServerOptions.Adapter
// takes one; the default is NewMemory.
type Factory func(ns Namespace) (Adapter, error)

// Session is the state kept for a socket whose connection dropped, so that a
// reconnecting client can recover it (connection state recovery).
type Session struct {
	SID    string // the socket id
	PID    string // the private id the client presents when it reconnects
	Rooms  []string
	Data   any
	Offset string // the offset of the last packet the client received
	// Missed are the packets broadcast while it was away (restore only).
	Missed []*parser.Packet
}

// SessionStore is implemented by adapters that support connection state
// recovery. It is optional: the namespace finds it by type assertion.
//
// To recover a socket the server calls RestoreSession (possibly twice for the
// same pid and offset: once to decide, once under a fence that holds the
// server's own stored broadcasts back), queues the missed packets, then calls
// AddAll with the socket id and the session's rooms, then sends the CONNECT
// reply. A cluster adapter that applies other servers' broadcasts
// concurrently can use that AddAll to deliver, in order, what it applied
// between the restore and the socket becoming a target.
type SessionStore interface {
	// PersistSession keeps s until the recovery window ends.
	PersistSession(ctx context.Context, s *Session) error
	// RestoreSession returns the session with private id pid and the packets
	// broadcast after offset, or (nil, nil) when it cannot be recovered.
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
}
