package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
	"github.com/redis/rueidis"
)

// ErrReservedEvent is returned by Emitter.Emit for an event name Socket.IO
// reserves (connect, disconnect, ...).
var ErrReservedEvent = errors.New("redis: reserved event name")

// EmitterOptions configure an Emitter. The zero value (and nil) gives Node's defaults.
type EmitterOptions struct {
	// Key is the channel prefix of the servers' classic adapters; default "socket.io".
	Key string
	// Codec is the servers' parser option (see Options.Codec); default wire.Msgpack.
	Codec wire.Codec
}

// Emitter sends to the Socket.IO servers of a cluster from any Go process,
// without being a server, in the protocol of @socket.io/redis-emitter 5.1: it
// reaches the servers that use the Classic mode (Go or Node). Sharded servers
// cannot be reached by an emitter (as in Node).
//
// An Emitter is an immutable value: Of, To, In, Except, Volatile and Compress
// return a new Emitter and leave the receiver unchanged, so a configured
// Emitter can be shared between goroutines.
type Emitter struct {
	conn   *emitterConn
	nsp    string
	rooms  []string
	except []string
	flags  wire.Flags
}

type emitterConn struct {
	rc    rueidis.Client
	own   bool
	key   string
	codec wire.Codec
}

// NewEmitter returns an Emitter for namespace "/" over an existing rueidis
// client (which Close does not close).
func NewEmitter(rc rueidis.Client, opts *EmitterOptions) *Emitter {
	key := "socket.io"
	var codec wire.Codec
	if opts != nil {
		if opts.Key != "" {
			key = opts.Key
		}
		codec = opts.Codec
	}
	return &Emitter{conn: &emitterConn{rc: rc, key: key, codec: codec}, nsp: "/"}
}

// DialEmitter connects to Redis at url (see Dial) and returns an Emitter for
// namespace "/". It fails with a clear error when Redis cannot be reached.
func DialEmitter(ctx context.Context, url string, opts *EmitterOptions) (*Emitter, error) {
	co, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: parse url: %w", err)
	}
	co.DisableCache = true
	co.ClientName = "corvid-emitter"
	if co.Dialer.Timeout == 0 {
		co.Dialer.Timeout = 2 * time.Second
	}
	rc, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redis: connect to %s: %w", redactURL(url), err)
	}
	if err := rc.Do(ctx, rc.B().Ping().Build()).Error(); err != nil {
		rc.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", redactURL(url), err)
	}
	e := NewEmitter(rc, opts)
	e.conn.own = true
	return e, nil
}

// Close closes the Redis connection when DialEmitter opened it; it is shared by
// every Emitter derived from this one.
func (e *Emitter) Close() error {
	if e.conn.own {
		e.conn.rc.Close()
	}
	return nil
}

func (e *Emitter) clone() *Emitter {
	c := *e
	c.rooms = append([]string(nil), e.rooms...)
	c.except = append([]string(nil), e.except...)
	return &c
}

// Of returns an Emitter for namespace nsp ("/" is prepended when missing). The
// rooms and flags are reset.
func (e *Emitter) Of(nsp string) *Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return &Emitter{conn: e.conn, nsp: nsp}
}

// To returns an Emitter that targets the sockets in rooms (added to the
// receiver's rooms). A socket id is a room.
func (e *Emitter) To(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !contains(c.rooms, r) {
			c.rooms = append(c.rooms, r)
		}
	}
	return c
}

// In is To.
func (e *Emitter) In(rooms ...string) *Emitter { return e.To(rooms...) }

// Except returns an Emitter that excludes the sockets in rooms.
func (e *Emitter) Except(rooms ...string) *Emitter {
	c := e.clone()
	for _, r := range rooms {
		if !contains(c.except, r) {
			c.except = append(c.except, r)
		}
	}
	return c
}

// Volatile returns an Emitter whose events may be dropped for sockets that are
// not ready.
func (e *Emitter) Volatile() *Emitter {
	c := e.clone()
	c.flags.Volatile = true
	return c
}

// Compress returns an Emitter with the compress flag set to on.
func (e *Emitter) Compress(on bool) *Emitter {
	c := e.clone()
	c.flags.Compress = &on
	return c
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (e *Emitter) opts() *wire.Opts {
	f := e.flags
	return &wire.Opts{Rooms: e.rooms, Except: e.except, Flags: &f}
}

// Emit sends event with args to the targeted sockets of every server. Binary
// arguments ([]byte) arrive as binary.
func (e *Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	data := make([]any, 0, 1+len(args))
	data = append(data, event)
	for _, a := range args {
		data = append(data, materialize(a))
	}
	payload, err := e.conn.codec.AppendEmitterBroadcast(nil, &wire.Packet{Type: int(parser.Event), Data: data, Nsp: e.nsp}, e.opts())
	if err != nil {
		return err
	}
	ch := classicChannel(e.conn.key, e.nsp)
	if len(e.rooms) == 1 {
		ch = classicRoomChannel(e.conn.key, e.nsp, e.rooms[0])
	}
	return e.publish(ctx, ch, payload)
}

func (e *Emitter) publish(ctx context.Context, channel string, payload []byte) error {
	rc := e.conn.rc
	cmd := rc.B().Publish().Channel(channel).Message(rueidis.BinaryString(payload)).Build()
	if rc.Mode() == rueidis.ClientModeCluster {
		cmd = cmd.SetSlot(channel) // keep the order per channel (see Client.publishCmd)
	}
	if err := rc.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis: publish on %s: %w", channel, err)
	}
	return nil
}

func (e *Emitter) request(ctx context.Context, r *wire.Request) error {
	payload, err := wire.AppendRequest(nil, r)
	if err != nil {
		return err
	}
	return e.publish(ctx, requestChannel(e.conn.key, e.nsp), payload)
}

// SocketsJoin makes the targeted sockets of every server join rooms.
func (e *Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteJoin, Opts: &wire.Opts{Rooms: e.rooms, Except: e.except}, Rooms: rooms})
}

// SocketsLeave makes the targeted sockets of every server leave rooms.
func (e *Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteLeave, Opts: &wire.Opts{Rooms: e.rooms, Except: e.except}, Rooms: rooms})
}

// DisconnectSockets disconnects the targeted sockets of every server, and
// closes their connections when close is true.
func (e *Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteDisconnect, Opts: &wire.Opts{Rooms: e.rooms, Except: e.except}, Close: close})
}

// ServerSideEmit sends args (the event name first) to the namespace of every
// server. Acknowledgements are not supported (as in Node).
func (e *Emitter) ServerSideEmit(ctx context.Context, args ...any) error {
	if len(args) == 0 {
		return errors.New("redis: ServerSideEmit needs an event name")
	}
	data := make([]any, len(args))
	for i, a := range args {
		data[i] = materialize(a)
	}
	return e.request(ctx, &wire.Request{UID: wire.EmitterUID, Type: wire.ServerSideEmit, Data: data})
}
