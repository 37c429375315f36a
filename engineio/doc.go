// Package engineio implements Engine.IO protocol version 4, the transport layer
// under Socket.IO v5: a server (an http.Handler), a client (Dial), and the packet
// and payload codec both share. On the wire it behaves like npm engine.io 6.6 and
// engine.io-client 6.6.
//
// # Server
//
// NewServer returns a Server to mount on a path (default "/engine.io/"; Socket.IO
// uses "/socket.io/"). Each session runs the handler in its own goroutine; the
// handler reads with Session.Read and the session is closed when it returns:
//
//	srv := engineio.NewServer(func(s *engineio.Session) {
//		for {
//			m, err := s.Read(s.Context())
//			if err != nil {
//				return // err wraps the close Reason
//			}
//			s.Send(m)
//		}
//	}, nil)
//	http.Handle("/engine.io/", srv)
//
// A handler may instead call Session.Receive and return: the server then pushes
// each message to a callback (push mode), and no goroutine waits for an idle
// session.
//
// Both transports are served: HTTP long-polling (GET and POST, packets joined by
// 0x1e, binary as "b" + base64, gzip/deflate for large responses) and WebSocket
// (one packet per message, binary as binary frames; the handshake and framing
// are ours on a hijacked connection, github.com/coder/websocket serves
// permessage-deflate and writers that cannot be hijacked),
// and polling sessions upgrade to WebSocket (probe "2probe"/"3probe", the pending
// poll released with a noop, "5"). The server pings every PingInterval and closes
// a session whose pong is more than PingTimeout late (ReasonPingTimeout). A
// client's close packet ends its session when it is read (ReasonTransportClose),
// over polling too; the POST that carried it is answered once a poll sent with
// it got the noop, or after 300 ms. The client (Dial) writes its close packet
// over polling in a request of its own, after everything queued. Refused
// requests are answered like the reference: 400 (403 for AllowRequest) with
// {"code":N,"message":"..."}.
//
// # Sessions, goroutines and memory
//
// Session.Send only queues (bounded by ServerOptions.MaxSendQueueBytes and
// MaxSendQueueLen; over the bound the session closes with ReasonSlowConsumer, while
// TrySend drops instead). A WebSocket session's queue is written by a goroutine
// started when the queue becomes non-empty and ending once it is drained (on
// linux a Send that finds nothing queued first tries one non-blocking write on
// the caller's goroutine). Every message a client sends takes one path,
// whichever the transport: the transport's reader hands it to the session,
// which gives it at once to a free push receiver (Receive's callback) or
// queues it for Read and for the next push delivery; the queue is what the
// inbound limit counts. A WebSocket is read by the server from the session's
// start, whether the handler reads with Read or Receive: on linux the
// connection is registered in one of a few epoll sets shared by the process
// (one per P, edge-triggered), and the set's goroutine reads the connections
// the kernel reports readable, in the order it reports them; elsewhere (and
// over TLS or coder/websocket) one goroutine per connection reads. Heartbeats
// are thus answered while the handler is busy. A WebSocket session in push
// mode on linux holds no goroutine of its own, no read or write buffer while
// idle (a pooled buffer is held only while a frame is incomplete), and a
// runtime timer for the heartbeat. What may wait on a peer (answering its ping
// or close frame, failing it after a protocol error) is never done by the
// shared goroutine: that connection's reading moves to a goroutine of its own
// for as long as it takes. Our close frame is the last frame written on a
// connection: every write after it is dropped (RFC 6455 5.5.1). A connection
// failed after a protocol error parses nothing more (7.1.7): our side is shut
// down behind the close frame, the session closes, and what the peer still
// sends is discarded by a goroutine of that connection until the peer ends
// its side, at most 5 s. A session's state is guarded by one mutex that is
// never held across I/O or user code; its life is a typed state machine
// (polling, upgrading, websocket, lingering, closed: see Session's
// documentation in session.go for which goroutine touches what). The
// WebSocket connections themselves (our RFC 6455 framing, the pollers,
// coder/websocket for the rest) live in an internal package behind one
// interface.
//
// What a client can make the server hold is bounded, and proportional to
// what it sent: inbound by MaxHTTPBufferSize (every queued message counts
// its data and its place in the queue; a POST waits, even in the middle of
// its body, while a buffer's worth of messages is unread; a WebSocket is not
// read while that is so, nor while the receiver has paused the session:
// Session.Pause). Read buffers grow with the bytes
// that arrive, never to what a frame header or a Content-Length declares; a
// declared length over MaxHTTPBufferSize is refused at once (1009, 413), and
// a POST body must arrive within PingInterval+PingTimeout. Outbound is
// bounded by the send queue; a handshake's headers by MaxHandshakeHeaderBytes
// (16 KiB, 431 over it, as Node); the number of sessions by MaxSessions,
// HandshakeRate, MaxSessionsPerIP and HandshakeRatePerIP (all off by default,
// as in the reference). The package writes no log lines, so a client cannot
// turn its bytes into log bytes. RELIABILITY.md at the repository root lists
// every limit and how it is tested.
//
// NewHTTPServer returns an http.Server with Node's limits (headers within
// 60 s and 16 KiB, a request within 300 s, idle keep-alive connections
// closed after 5 s), and NewHTTPListener a listener to serve it on that
// hands a connection to net/http only once its headers are complete: until
// then it costs the bytes it sent and no goroutine (Linux; elsewhere the
// listener is returned as it is).
//
// Session.Context is cancelled when the session closes, with the Reason as its
// cause. Server.Shutdown closes every session with ReasonServerClose and waits for
// every goroutine the server started.
//
// ServerOptions.Observer, when set, sees sessions opened and closed (with
// their Reason), upgrades, refused requests by cause (Refusal) and the
// messages and bytes received and queued per transport, for metrics (package
// metrics counts them). Its methods must not block; unset, it costs a nil
// check.
//
// # Codec
//
// AppendPacket, ParsePacket, AppendPayload and ParsePayload are pure functions
// over byte slices: encoding appends to the caller's buffer and allocates nothing
// when it is large enough; decoding returns text payloads that alias the input.
package engineio
