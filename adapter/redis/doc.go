// Package redis is the Redis adapter of the Socket.IO server (package socketio)
// and an Emitter for any Go process. It speaks the wire protocols of the npm
// packages, so Go and Node.js servers can share one cluster:
//
//   - Classic mode: @socket.io/redis-adapter 8.3 createAdapter (PUBLISH,
//     PSUBSCRIBE {key}#{nsp}#*, SUBSCRIBE to the request, response and
//     server-specific response channels; broadcasts in msgpack, requests in
//     JSON). Options: Key (default "socket.io"), RequestsTimeout (default 5 s),
//     PublishOnSpecificResponseChannel.
//   - Sharded mode: createShardedAdapter (Redis 7+: SPUBLISH/SSUBSCRIBE of the
//     socket.io-adapter ClusterAdapter messages), with the subscription modes
//     Dynamic (default), Static and DynamicPrivate, on a single Redis or a
//     Redis Cluster (the client detects cluster mode).
//   - Emitter: @socket.io/redis-emitter 5.1 (emit to rooms with except,
//     socketsJoin, socketsLeave, disconnectSockets, serverSideEmit). It reaches
//     Classic servers only, as in Node.
//
// # Usage
//
// Dial one Client per server process and pass its NewAdapter method as the
// server's adapter factory; every namespace gets an adapter on the Client's
// connection:
//
//	rc, err := redis.Dial(ctx, "redis://127.0.0.1:6379", &redis.Options{Mode: redis.Sharded})
//	srv := socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter})
//
// ParseMode turns "classic" (or ""), "sharded" (or "sharded-dynamic"),
// "sharded-static" or "sharded-dynamic-private" into the pair (Mode,
// SubscriptionMode) to set as Options.Mode and Options.SubscriptionMode, and
// returns an error for any other spelling; DialMode dials with such a string.
// Both are meant for command-line flags.
//
// Every cluster operation of socketio works across servers: broadcasts with
// rooms, except and flags; broadcasts with acks (each server reports its client
// count, then the acks); FetchSockets (remote sockets with id, handshake,
// rooms and data, on which emit, join, leave and disconnect work);
// SocketsJoin, SocketsLeave, DisconnectSockets; ServerSideEmit with acks; the
// server count. Adapter.AllRooms is the classic allRooms.
//
// # Guarantees
//
// Delivery through Redis pub/sub is at most once: a message published while a
// server is disconnected from Redis is lost for it. Messages are read on
// rueidis' connection goroutine and handed to a bounded queue per namespace
// (Options.QueueSize); when the queue is full the message is dropped and
// reported, so a slow namespace never blocks the connection. The answers a
// server publishes from a socket's ack callback go through a bounded outbox
// the same way, and server-side emits are handed to the namespace's handlers
// on a dispatcher goroutine of their own (so a handler may itself make a
// cluster request).
//
// Messages published on one channel by one server arrive in order. In a Redis
// Cluster, messages on different channels (a broadcast to a room and one to
// all, or a broadcast and a request) may arrive in any order, as with Node.
//
// Local first: Broadcast, BroadcastWithAck, AddSockets, DelSockets and
// DisconnectSockets are applied to this server's sockets before anything is
// sent to Redis; then the message is published, waiting at most
// Options.PublishTimeout (1 s) and never beyond ctx. When Redis is stopped,
// stalled or down, each server keeps serving its own sockets at once, and
// these operations and ServerSideEmit return an *adapter.PublishError
// (errors.Is(err, adapter.ErrNotPublished)) wrapping the cause. Requests
// (FetchSockets, ServerSideEmitWithAck, AllRooms, ServerCount) fail after at
// most RequestsTimeout. The streams adapter does the same with its XADD
// (StreamsOptions.PublishTimeout); with Recovery, a stored broadcast reaches
// the local sockets once its XADD returns (at most that deadline), since it
// carries the entry id. Dial fails with a clear error when Redis cannot be
// reached at start.
//
// Nothing is lost silently. Every subscription notices at once when Redis
// closes its connection (a restart, CLIENT KILL, the pubsub output buffer
// limit), subscribes again (backoff 50 ms to 500 ms) and reports both
// (EventSubscriberDropped, EventResubscribed); rueidis' own retries are off in
// Dial so that the loss is seen, and are detected when New is given a client
// that retries. A message not published (EventPublishFailed), dropped from a
// full queue (EventMessageDropped) or an answer too large (EventReplyTooLarge)
// is reported too. Options.OnEvent receives the Events and Client.Stats counts
// them. What other servers published while a subscription was down cannot be
// counted: Redis does not keep it.
//
// Answers are bounded: the answer to another server's request (fetchSockets
// with its sockets' handshakes, allRooms, acks) is at most
// Options.MaxReplySize (1 MiB), far below Redis's default pubsub output
// buffer limit (32 MB), whose overrun closes the subscribers of every server.
// A larger answer is not sent (EventReplyTooLarge); it cannot be split, as
// Node counts one answer per server. The server sends instead a refusal of a
// few hundred bytes (wire.TooLarge): the answer with an empty list, or a null
// ack, and the key "replyTooLarge": {uid, size, limit}. A Go requester's
// FetchSockets, AllRooms or ServerSideEmitWithAck then fails at once with a
// *ReplyTooLargeError (errors.Is ErrReplyTooLarge) naming the server, the
// size and its limit, instead of waiting for its timeout; a Node requester
// ignores the key and completes with that server's answer empty (null for a
// server-side emit ack). An ack to a broadcast that is too large is not
// sent, with no refusal (the requester's ack times out): Node has no empty
// form of it.
//
// A request (FetchSockets, ServerSideEmitWithAck, AllRooms) waits for one
// answer per other server, the number of servers being the subscribers Redis
// counts (PUBSUB NUMSUB or SHARDNUMSUB, summed over the nodes of a cluster).
// When answers are missing it returns an *adapter.TimeoutError.
//
// # Compatibility notes
//
//   - Redis counts servers by subscribed connections: a Client uses one
//     connection per Redis node for all its subscriptions. Use one Client per
//     server; two Clients in one process count as two servers.
//   - Lists are written as [], never null; binary travels as msgpack bin in
//     packets of type 2 (never BINARY_EVENT), and as Node writes a Buffer in
//     JSON ({"type":"Buffer","data":[..]}); map keys are strings.
//   - Socket ids must be 20 characters (socketio's are): in the dynamic
//     sharded mode a single room of 20 characters is taken for a socket id.
//   - Messages from the emitter (uid "emitter") and requests without uid are
//     accepted; this server's own messages are ignored, and room operations
//     are applied locally when they are sent.
//   - In the dynamic sharded modes the room channels of a namespace share
//     one goroutine and dedicated connections, open while a room needs them:
//     one to a standalone Redis, one per master of a Redis Cluster (each
//     channel on the master that serves its slot). Their SSUBSCRIBE and
//     SUNSUBSCRIBE are sent in batches of 512 channels (in a Cluster one
//     command per slot), 64 commands pipelined, and joining or leaving a
//     room costs O(1); the goroutines do not grow with the rooms. A join
//     waits until Redis confirmed the room's channel (at most PublishTimeout,
//     not while the connections are lost). When a slot moves to another
//     master (Redis unsubscribes its channels), a MOVED reply or a lost
//     connection, the connections are closed and every room channel is
//     subscribed again on the masters that own the slots then
//     (EventSubscriberDropped, then EventResubscribed, with Channel
//     "rooms"). These connections do not subscribe the main channel, so they
//     do not count as servers.
//   - The classic pattern escapes the glob characters of the key and
//     namespace.
//   - Values received from other servers (server-side emit arguments, acks)
//     implement parser.Value; broadcast arguments are plain Go values
//     (map[string]any, []any, string, float64, bool, nil, []byte).
//
// Node's parser option is Options.Codec: notepack.io msgpack (the default) or
// JSON (JSON.stringify/JSON.parse); other custom parsers (msgpackr, ...) are
// not supported. Not supported either: connection state recovery
// (adapter.SessionStore) in the pub/sub modes (the streams adapter,
// DialStreams, has it), and emitting to sharded servers from an Emitter.
//
// The message formats are in package wire.
package redis
