// Package helper is a structured layer over package socketio: the
// authentication protocol, rooms and addressing of the seed's Socket.IO
// helpers (@venizia/ignis-helpers SocketIOServerHelper and
// SocketIOClientHelper), in Go, wire-compatible with them.
//
// # The protocol
//
// A socket that connects to a ServerHelper is unauthorized. It must emit
// authenticate (optionally with a payload) within AuthenticateTimeout, or it
// is disconnected. The ServerOptions.Authenticate func sees the handshake
// (headers, query, auth payload) and that payload, and returns an Identity or
// an error. On success the server joins the socket to the default rooms
// (io-default, io-notification) and to its user's room, emits authenticated
// {id, time}, starts the app-level ping {time} every PingInterval, accepts
// join and leave {rooms: [...]} (joins filtered by ValidateRoom, refused
// without one or past MaxRoomsPerSocket rooms, 1,000 by default) and calls ClientConnected, where the application sets the
// socket's own handlers. On failure it emits unauthenticated {message, time}
// and then disconnects the socket; both packets share the connection's
// ordered queue, so the client always gets the notice first (the seed's
// server lost it).
//
// Differences from the seed, on purpose: the authenticate payload reaches the
// Authenticate func and an identity comes back (the seed only had a boolean
// over the handshake); every socket of a user shares the user's room, so
// Send(ToUser(id)) reaches all of them; falsy data is sent (the seed dropped
// 0, false, "" and null); join and leave answer an acknowledgement with the
// rooms joined or left when the client asks for one; leave cannot remove a
// socket from its own id's or user's room; Broadcast targets authenticated
// sockets (the default rooms), not the unauthenticated ones.
//
// # Cluster
//
// The helper does not know Redis: ServerOptions.Cluster is the adapter
// factory of the server it makes, with a Close that Shutdown calls (or set
// SocketIO.Adapter and close the connection yourself). Package adapter/redis
// provides them: redis.Dial or redis.DialMode (classic or sharded pub/sub,
// the protocols of @socket.io/redis-adapter) and redis.DialStreams
// (@socket.io/redis-streams-adapter). Send and Broadcast go through the
// server's broadcast in every mode, so they reach the target on whichever
// node it is connected: the adapter delivers to this node's sockets and
// publishes to the other nodes (the seed used a Redis emitter in the classic
// mode, which made even local delivery a round trip through Redis; the
// messages on the wire are those of the adapter, which Node servers of the
// same mode read as well).
//
// When Redis is down, stalled or refusing, this node's clients still get
// what Send and Broadcast send; the publication waits at most until ctx's
// deadline or ServerOptions.PublishTimeout (default 1 s), and the error is an
// *adapter.PublishError (errors.Is(err, adapter.ErrNotPublished)): delivered
// here, not published. No handler waits on Redis longer than that.
//
// Shutdown closes the clients' Engine.IO connections without a DISCONNECT,
// as socketio.Server.Shutdown does: official clients see "transport close"
// and reconnect by themselves (to the restarted node or another one), and a
// ClientHelper with Reauthenticate (or the seed's client, which authenticates
// in its onConnected) authenticates again, so the nodes of a cluster can be
// restarted in turn.
//
// ClusterClients lists every node's sockets with their state and identity,
// which the helper keeps in the socket data (Socket.SetData): keep
// application data in Identity.Data rather than calling SetData on a helper's
// socket.
//
// # Client
//
// ClientHelper wraps a socketio.ClientSocket: Connect, Authenticate (which
// waits for the server's answer), Emit and EmitWithAck, Subscribe and
// Unsubscribe, JoinRooms and LeaveRooms, State. With Reauthenticate it
// authenticates again after every reconnection.
//
// # Typed handlers
//
// Decode, On and Subscribe decode event arguments into Go types with
// generics; there are no variadic any handlers and no reflection dispatch.
//
// # Goroutines
//
// Authenticate, ValidateRoom, ClientConnected and the handlers set with On run
// on the connection's dispatcher goroutine (one per Engine.IO connection), so
// a slow one delays only its own connection. Timers are runtime timers; no
// goroutine is started per socket.
package helper
