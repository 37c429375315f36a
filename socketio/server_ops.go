package socketio

import (
	"context"
	"time"
)

// The Server's broadcast methods act on the main namespace "/", like io.to(...)
// and io.emit(...) of the reference.

// To returns an operator over the main namespace that targets rooms.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.Of("/").To(rooms...) }

// In is To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except returns an operator over the main namespace that skips rooms.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.Of("/").Except(rooms...) }

// Volatile returns a volatile operator over the main namespace.
func (s *Server) Volatile() BroadcastOperator { return s.Of("/").Volatile() }

// Local returns an operator over the main namespace's sockets of this server.
func (s *Server) Local() BroadcastOperator { return s.Of("/").Local() }

// Timeout returns an operator over the main namespace whose EmitWithAck waits at most d.
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.Of("/").Timeout(d) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(event string, args ...any) error { return s.Of("/").Emit(event, args...) }

// FetchSockets returns the sockets of the main namespace, in the whole cluster.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.Of("/").FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.Of("/").SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.Of("/").SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace.
func (s *Server) DisconnectSockets(ctx context.Context, close bool) error {
	return s.Of("/").DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the main namespace of the other servers.
func (s *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return s.Of("/").ServerSideEmit(ctx, event, args...)
}

// ServerSideEmitWithAck sends an event to the main namespace of the other
// servers and waits for their answers (see Namespace.ServerSideEmitWithAck).
func (s *Server) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) (Args, error) {
	return s.Of("/").ServerSideEmitWithAck(ctx, event, args...)
}

// OnServerSideEmit adds a handler for event sent by another server to the main
// namespace with ServerSideEmit (see Namespace.OnServerSideEmit).
func (s *Server) OnServerSideEmit(event string, h ServerSideEmitHandler) {
	s.Of("/").OnServerSideEmit(event, h)
}
