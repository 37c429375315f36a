package redis

import (
	"errors"
	"fmt"
	"time"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// Mode selects the wire protocol, which must be the one of every other server
// on the same Redis.
type Mode int

const (
	// Classic is the protocol of @socket.io/redis-adapter createAdapter (and of
	// @socket.io/redis-emitter): PUBLISH, PSUBSCRIBE and SUBSCRIBE.
	Classic Mode = iota
	// Sharded is the protocol of createShardedAdapter (Redis 7 and later):
	// SPUBLISH and SSUBSCRIBE of the socket.io-adapter cluster messages.
	Sharded
)

func (m Mode) String() string {
	switch m {
	case Classic:
		return "classic"
	case Sharded:
		return "sharded"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// SubscriptionMode is the createShardedAdapter subscriptionMode option.
type SubscriptionMode int

const (
	// Dynamic (the default, as in Node): one channel per public room (a room
	// that is not a socket id); broadcasts to exactly one such room go there.
	Dynamic SubscriptionMode = iota
	// Static: the main and response channels only.
	Static
	// DynamicPrivate: one channel per room, socket-id rooms included.
	DynamicPrivate
)

func (m SubscriptionMode) String() string {
	switch m {
	case Dynamic:
		return "dynamic"
	case Static:
		return "static"
	case DynamicPrivate:
		return "dynamic-private"
	}
	return fmt.Sprintf("SubscriptionMode(%d)", int(m))
}

// ParseMode parses the command-line spelling of a mode: "classic", "sharded"
// (dynamic), "sharded-static", "sharded-dynamic" or "sharded-dynamic-private".
func ParseMode(s string) (Mode, SubscriptionMode, error) {
	switch s {
	case "", "classic":
		return Classic, Dynamic, nil
	case "sharded", "sharded-dynamic":
		return Sharded, Dynamic, nil
	case "sharded-static":
		return Sharded, Static, nil
	case "sharded-dynamic-private":
		return Sharded, DynamicPrivate, nil
	}
	return Classic, Dynamic, fmt.Errorf("redis: unknown mode %q (want classic, sharded, sharded-static, sharded-dynamic-private)", s)
}

// Defaults of Options and StreamsOptions.
const (
	// DefaultPublishTimeout bounds the publication of a fire-and-forget
	// operation (Options.PublishTimeout).
	DefaultPublishTimeout = time.Second
	// DefaultMaxReplySize bounds the answer to a request (Options.MaxReplySize),
	// far below Redis's default pubsub output buffer limit (32 MB).
	DefaultMaxReplySize = 1 << 20
)

// Options configure a Client. The zero value (and nil) gives Node's defaults.
type Options struct {
	// Mode is the wire protocol; the default is Classic.
	Mode Mode
	// SubscriptionMode applies to Sharded; the default is Dynamic.
	SubscriptionMode SubscriptionMode
	// Key is the channel prefix (Node's key / channelPrefix); default "socket.io".
	Key string
	// RequestsTimeout bounds the wait for the answers of the other servers
	// (fetchSockets, serverSideEmit with ack, allRooms); default 5 s, as in Node.
	RequestsTimeout time.Duration
	// PublishOnSpecificResponseChannel (Classic) sends the answers to a request
	// on the requester's own response channel instead of the common one.
	PublishOnSpecificResponseChannel bool
	// Codec (Classic) is Node's parser option: the encoding of broadcasts and
	// of the acknowledged broadcast's request and acks. The default is
	// wire.Msgpack (notepack.io); wire.JSON matches a Node adapter created with
	// {parser: {encode: JSON.stringify, decode: JSON.parse}}. Decoding accepts
	// both.
	Codec wire.Codec
	// QueueSize bounds the messages received from Redis and waiting to be
	// handled, per namespace; when it is full new messages are dropped and
	// counted (Stats). Default 4096.
	QueueSize int
	// ClientName is sent with CLIENT SETNAME (visible in CLIENT LIST); default
	// "corvid".
	ClientName string
	// PublishTimeout bounds the publication of a fire-and-forget operation
	// (Broadcast, AddSockets, DelSockets, DisconnectSockets, ServerSideEmit),
	// which is applied to the local sockets first: past it (or when ctx ends
	// first) the operation returns an *adapter.PublishError. Default 1 s.
	PublishTimeout time.Duration
	// MaxReplySize bounds the answer this server publishes to another
	// server's request (fetchSockets, allRooms, serverSideEmit and broadcast
	// acks). A larger answer is not sent (EventReplyTooLarge), rather than
	// a message that could make Redis close the subscribers' connections
	// (client-output-buffer-limit pubsub, 32 MB by default): a refusal is
	// sent instead, and a Go requester gets a *ReplyTooLargeError at once (a
	// Node requester an empty answer); a broadcast ack is not refused (its
	// requester times out). Default 1 MiB (DefaultMaxReplySize).
	MaxReplySize int
	// OnEvent, when set, is called for every Event: a subscription lost or
	// back, a publication that failed, a message dropped, a reply too large.
	// It runs on the adapter's goroutines (rueidis' read loop for dropped
	// messages) and must return quickly. The same events are counted in
	// Client.Stats.
	OnEvent func(Event)
	// UID identifies this server on the wire; default a random id (6
	// characters in Classic, 16 hexadecimal digits in Sharded, as in Node).
	// It must not be "emitter".
	UID string
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Key == "" {
		c.Key = "socket.io"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.MaxReplySize <= 0 {
		c.MaxReplySize = DefaultMaxReplySize
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 4096
	}
	if c.ClientName == "" {
		c.ClientName = "corvid"
	}
	if c.Mode != Classic && c.Mode != Sharded {
		return c, fmt.Errorf("redis: unknown mode %d", c.Mode)
	}
	if c.UID == "emitter" {
		return c, errors.New(`redis: the uid "emitter" is reserved for emitters`)
	}
	if c.UID == "" {
		if c.Mode == Classic {
			c.UID = randomUID6()
		} else {
			c.UID = randomHex(8)
		}
	}
	return c, nil
}
