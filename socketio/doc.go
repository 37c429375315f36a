// Package socketio implements Socket.IO v5 over the Engine.IO v4 package
// engineio: a server (this file's subject) and a client (Manager, ClientSocket).
// On the wire it behaves like npm socket.io 4.8.
//
// # Server
//
// NewServer returns a Server, an http.Handler to mount at ServerOptions.Path
// (default "/socket.io/"). Options left zero take the reference's defaults:
// connectTimeout 45 s, the Engine.IO defaults (ServerOptions.Engine), the JSON
// parser (parser.Msgpack() speaks with npm socket.io-msgpack-parser), the
// in-memory adapter. A request outside Path gets a 404 whose body names Path.
//
// The adapter factory's error is the caller's: New and Server.Namespace return
// it (an *AdapterError), NewServer and Server.Of panic with it (never with the
// default adapter), and a dynamic child whose adapter fails is refused as an
// unknown name and logged. No namespace runs on a substitute adapter.
//
// Namespaces are static (Server.Of) or dynamic (Server.OfRegexp, Server.OfFunc:
// a child namespace is created when a client connects to a name the parent
// accepts). A client asking for an unknown namespace gets CONNECT_ERROR
// {"message":"Invalid namespace"}. Connect Middleware runs before a socket
// joins; its error becomes CONNECT_ERROR {message, data} (see ConnectError).
//
// A Socket has a 20-character random id, a Handshake (headers, query, auth
// payload, address, time, URL, secure, cross-domain), user data, rooms, event
// handlers (Socket.On with an EventHandler), catch-all handlers for incoming
// (OnAny) and outgoing (OnAnyOutgoing) events, per-packet middleware
// (Socket.Use), and a Context cancelled with the DisconnectReason as its cause.
//
// # Typed handlers
//
// The generic functions give the common code Go types without a type
// assertion: On[T] (and TypedHandler[T], OnClient[T] on the client) decode an
// event's first argument into a T; AuthMiddleware[T] and Auth[T] decode the
// auth payload; Data[T] and RemoteData[T] return the socket data as a T;
// Decode[T] decodes any argument of Args. An argument that does not decode
// never reaches the handler: an acknowledgement, when asked for, answers
// AckError{"invalid argument 1: ..."} (ArgError.ClientMessage, worded for the
// client: JSON types, never Go type names), and the *ArgError, which keeps the
// Go error, goes to the socket's OnError handlers. The untyped forms (Args,
// Socket.Data) stay for catch-all code.
//
// # Goroutines and ordering
//
// Each Engine.IO connection has two roles: the reader (Engine.IO pushes each
// message to it, see engineio.Session.Receive) decodes packets and resolves
// acknowledgements, and the dispatcher runs every user callback of the
// connection's sockets in order: middleware, connection handlers, event
// handlers, ack callbacks (EmitWithCallback), disconnect handlers. Neither keeps
// a goroutine while the connection is idle: the reader is Engine.IO's (on linux
// a poller goroutine that reads many WebSocket connections), the dispatcher's
// goroutine exists while calls are queued and for 100 to 200 ms after the last one, so
// that a connection in a request/answer loop does not start one per message.
// No callback runs under a lock, and none runs on the reader. A slow handler
// delays only its own connection; when 256 calls are waiting, the session is
// paused (engineio.Session.Pause: its connection is not read) until half of
// them have run. A handler may block on Socket.EmitWithAck: answers are read by
// the reader, not the dispatcher.
//
// # Broadcasts and the adapter
//
// BroadcastOperator is an immutable value built by To/In, Except, Volatile,
// Compress, Local and Timeout. Emit, EmitWithAck (which collects the answer of
// every target and lists the local sockets that did not answer), FetchSockets,
// SocketsJoin, SocketsLeave and DisconnectSockets go through the namespace's
// adapter.Adapter, so that a cluster adapter spreads them over the servers;
// ServerSideEmit reaches the other servers only, whose OnServerSideEmit
// handlers for that event get its arguments, and ServerSideEmitWithAck returns
// their answers as Args. A broadcast is encoded once and the same bytes are
// queued on every target session. EmitContext is Emit with a context for the
// adapter, which bounds a cluster adapter's publication; Emit gives it none.
//
// # Connection state recovery
//
// With ServerOptions.ConnectionStateRecovery (see RecoveryOptions), a client
// whose connection drops comes back within the window with its socket id,
// rooms and data (Socket.Recovered reports it) and gets every packet
// broadcast or emitted to it meanwhile, once and in order, before its CONNECT
// reply, as the reference sends them. The CONNECT reply then carries a
// private session id, and stored EVENTs carry their offset as their last
// argument; without the option the reply is exactly {"sid":...}. The adapter
// keeps sessions and packets (adapter.SessionStore): the default
// adapter.NewMemorySessions bounds them in memory; the Redis Streams adapter
// keeps them in Redis, so a client recovers on any node. The client side
// (Manager, ClientSocket) sends the private id and the last offset it handled
// and reports ClientSocket.Recovered.
//
// The order in which the server learns of the old connection's end and of the
// new one does not matter (over polling the client's close comes on a request
// of its own; a client may reconnect before its old connection timed out): a
// recovery that finds a socket of this server still holding the session
// disconnects it with ReasonTransportClose and saves its session before
// restoring it, and a socket that has left its rooms never changes the rooms
// of its id again. In that race the old socket's OnDisconnecting handlers run
// after it left its rooms.
//
// # Slow consumers
//
// Every session's send queue is bounded (engineio.ServerOptions
// MaxSendQueueBytes and MaxSendQueueLen). A packet that would overflow it
// closes that connection: its sockets leave with ReasonSlowConsumer. A
// volatile packet (BroadcastOperator.Volatile, Socket.EmitVolatile) is dropped
// instead and the socket stays connected.
//
// # Errors and bad input
//
// A malformed packet, a packet for a namespace the connection has not joined,
// or a second CONNECT for a joined namespace closes the connection, as the
// reference does (a malformed packet is first passed to the sockets' OnError
// handlers; they leave with "forced close", the others with "forced server
// close"). An acknowledgement arriving after its timeout or after a
// disconnect is ignored. A wait for an acknowledgement that times out ends
// with ErrAckTimeout, on the server and on the client (at a ctx's deadline,
// the error is also context.DeadlineExceeded for errors.Is). A panic in a
// user handler is recovered and logged (ServerOptions.Logger) with its stack
// (10 lines at once, then one a second: a client cannot multiply them), and
// closes that handler's connection:
// its sockets leave with ReasonHandlerPanic; the process and the other
// connections are unaffected.
//
// Server.Shutdown disconnects every socket with ReasonServerShuttingDown and
// returns when all the server's goroutines have ended. A connection that joins
// no namespace within ConnectTimeout is closed.
//
// ServerOptions.Observer, when set, sees sockets connected and disconnected
// (with their reason), acknowledgement timeouts, recoveries and their misses,
// and failed adapter operations (an *adapter.PublishError among them), for
// metrics (package metrics counts them; the Engine.IO layer has its own
// engineio.ServerOptions.Observer). Its methods must not block.
package socketio
