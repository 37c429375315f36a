// Package ws is the server side of WebSocket (RFC 6455) for package
// engineio: the opening handshake, the connections, and how they are read
// and written, behind one interface (Conn) that a session uses without
// knowing which implementation serves it.
//
//   - own.go: our implementation, for a hijackable connection without
//     permessage-deflate. The handshake and the framing are ours; an idle
//     connection keeps no bufio buffer and no read buffer (a pooled buffer is
//     held only while a frame is incomplete, grown with the bytes that arrive:
//     Grow). Data frames are framed by WriteFrames and WriteInline and written
//     through the connection's cork (cork.go), which also orders our control
//     frames and makes our close frame the last one.
//   - poll_linux.go: the pollers. A started connection of ours on linux is
//     registered (edge-triggered) in one of a few epoll sets of the process,
//     one per P; the set's goroutine reads the connections the kernel reports
//     readable and hands their messages to the Handler. What may wait on the
//     peer (a pong or close answer behind a writer that is stuck, failing the
//     connection) is handed to a goroutine of its own, with the reader lock.
//     Elsewhere, and for connections without a file descriptor (TLS), a
//     goroutine per connection reads.
//   - coder.go: github.com/coder/websocket, for permessage-deflate and for
//     writers that cannot be hijacked (HTTP/2); a goroutine per connection
//     reads once started.
//
// # Reading: one path
//
// Before Start, ReadMessage reads with blocking reads (an upgrade's probe).
// After Start, every data message goes to Handler.Message, one at a time and
// in order, from whichever goroutine reads; when it returns false the reader
// stops (flow) until Resume, and Handler.Closed is called once when reading
// ends.
//
// # Locks
//
// Of our connection (ownConn): rmu is held by whoever reads (a goroutine
// reader, the poller's goroutine, the goroutine a blocking answer was handed
// to, or a closing handshake waiting for the peer's close frame); under it
// the cork's lock may be taken (control frames), and under that nothing. The
// cork's lock orders every frame written. mu guards only closed. A poll
// set's mu guards its registrations and is taken under rmu (register) or
// alone; its round lock only orders Quiesce with the rounds of reading.
// Handler methods are called under rmu and must not call Resume's reading
// path for the same connection synchronously with a lock they hold that
// Message takes (Resume only records the resume while rmu is held elsewhere;
// the holder reads on when it lets go).
package ws
