package socketio

import (
	"context"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// RecoveryOptions turns connection state recovery on (ServerOptions.
// ConnectionStateRecovery): a client whose connection drops for a reason it
// may reconnect after (transport close or error, ping timeout, forced close,
// server shutdown, slow consumer) and comes back within
// MaxDisconnectionDuration gets its socket id, rooms and data back, and every
// packet broadcast to it (or emitted to it with Socket.Emit) while it was
// away, once and in order. Socket.Recovered tells a recovered socket.
//
// The CONNECT reply then carries a private session id ({"sid":..,"pid":..})
// and every stored EVENT carries its offset as its last argument, as the
// reference sends them. Packets with an acknowledgement and volatile ones are
// not stored (nor given an offset).
//
// The namespace's adapter keeps the sessions and packets: it must implement
// adapter.SessionStore. With no ServerOptions.Adapter, the server uses
// adapter.NewMemorySessions, bounded by the fields below.
type RecoveryOptions struct {
	// MaxDisconnectionDuration is the recovery window (default 2 minutes).
	MaxDisconnectionDuration time.Duration
	// RunMiddlewares runs the namespace's connect middleware for a recovered
	// socket too. By default they are skipped (the reference's
	// skipMiddlewares: true).
	RunMiddlewares bool
	// MaxPackets, MaxBytes and MaxSessions bound the default in-memory store
	// (see adapter.SessionOptions; defaults 10,000 packets, 16 MiB, 100,000
	// sessions). A client whose missed packets were dropped is not recovered:
	// it gets a fresh session.
	MaxPackets  int
	MaxBytes    int
	MaxSessions int
}

// connectReply is the CONNECT payload; the struct keeps the reference's key order.
type connectReply struct {
	SID string `json:"sid"`
	PID string `json:"pid,omitempty"`
}

// recoverable lists the reasons after which the reference keeps the session.
func recoverable(r DisconnectReason) bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose, ReasonPingTimeout,
		ReasonServerShuttingDown, ReasonForcedServerClose, ReasonSlowConsumer:
		return true
	}
	return false
}

// Recovered reports whether the socket recovered the session of an earlier
// connection (connection state recovery).
func (s *Socket) Recovered() bool { return s.recovered }

// store returns the namespace's session store when recovery is on.
func (n *Namespace) store() adapter.SessionStore {
	if n.srv.opts.ConnectionStateRecovery == nil {
		return nil
	}
	st, _ := n.adapter.(adapter.SessionStore)
	return st
}

// recoveryAuth reads the private id and offset of a CONNECT payload.
func recoveryAuth(auth parser.Value) (pid, offset string) {
	if auth == nil {
		return "", ""
	}
	var m map[string]any
	if auth.Decode(&m) != nil {
		return "", ""
	}
	pid, _ = m["pid"].(string)
	offset, _ = m["offset"].(string)
	return pid, offset
}

// restore prepares s for recovery when its CONNECT payload names a session
// the store still has: s takes the session's id, private id and data. It
// returns the session (nil for a fresh socket, which gets a new private id
// when recovery is on).
func (n *Namespace) restore(s *Socket, auth parser.Value) *adapter.Session {
	st := n.store()
	if st == nil {
		return nil
	}
	if pid, offset := recoveryAuth(auth); pid != "" && offset != "" {
		n.supersede(pid)
		prev, err := st.RestoreSession(context.Background(), pid, offset)
		if err != nil {
			n.srv.log.Debug("socketio: restoring a session failed", "nsp", n.name, "err", err)
		}
		if obs := n.srv.opts.Observer; obs != nil {
			obs.Recovery(n.name, prev != nil)
		}
		if prev != nil {
			prev.Offset = offset
			s.id, s.pid, s.data, s.recovered = prev.SID, prev.PID, prev.Data, true
			return prev
		}
	}
	s.pid = newID()
	return nil
}

// skipMiddlewares reports whether a recovered socket skips connect middleware.
func (n *Namespace) skipMiddlewares() bool {
	r := n.srv.opts.ConnectionStateRecovery
	return r != nil && !r.RunMiddlewares
}

// joinRecovered makes a recovered socket a target again and queues the missed
// packets, then the CONNECT reply (the reference's order: the client handles
// them before its connect handler). The missed packets are computed again
// under the fence, so a broadcast is either among them or delivered live,
// never both and never neither.
func (n *Namespace) joinRecovered(s *Socket, prev *adapter.Session) error {
	n.fence.Lock()
	defer n.fence.Unlock()
	if again, _ := n.store().RestoreSession(context.Background(), prev.PID, prev.Offset); again != nil {
		prev = again
	}
	for _, p := range prev.Missed {
		if err := s.conn.sendPacket(p, false); err != nil {
			return err
		}
	}
	// Then the socket becomes a target (AddAll also lets a cluster adapter
	// deliver what other servers broadcast since its restore), then the reply.
	n.mu.Lock()
	n.sockets[s.id] = s
	n.trackPIDLocked(s)
	n.mu.Unlock()
	rooms := prev.Rooms
	if len(rooms) == 0 {
		rooms = []string{s.id}
	}
	n.adapterFailed("joining the recovered rooms", n.adapter.AddAll(context.Background(), s.id, rooms))
	return s.conn.sendPacket(&parser.Packet{Type: parser.Connect, Namespace: n.name,
		Data: &connectReply{SID: s.id, PID: s.pid}}, false)
}

// broadcast applies a broadcast of the namespace. With recovery on it holds
// the fence's read side (see joinRecovered).
func (n *Namespace) broadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	if n.srv.opts.ConnectionStateRecovery != nil {
		n.fence.RLock()
		defer n.fence.RUnlock()
	}
	return n.observeAdapter("broadcast", n.adapter.Broadcast(ctx, p, opts))
}

// leaveAndPersist leaves every room at disconnect and, when the reason allows
// recovery, keeps the session (with the rooms it had) in the store. The store
// gets it only once the socket left its rooms, so a recovered socket of the
// same id is never removed from them by its old self. It runs once: a
// recovery of the session may have run it already (supersede).
func (s *Socket) leaveAndPersist(reason DisconnectReason) {
	s.leaveMu.Lock()
	defer s.leaveMu.Unlock()
	st := s.nsp.store()
	if st == nil || !recoverable(reason) || s.pid == "" {
		s.leaveAllLocked()
		return
	}
	rooms := s.Rooms()
	if !s.leaveAllLocked() {
		return
	}
	if err := st.PersistSession(context.Background(), &adapter.Session{
		SID: s.id, PID: s.pid, Rooms: rooms, Data: s.Data(),
	}); err != nil {
		s.nsp.srv.log.Debug("socketio: persisting a session failed", "nsp", s.nsp.name, "err", err)
	}
}

// dropRooms removes the socket from its rooms unless it left them for good
// already (then its id may belong to a recovered socket).
func (s *Socket) dropRooms() {
	s.leaveMu.Lock()
	defer s.leaveMu.Unlock()
	if !s.left.Load() {
		s.nsp.adapterFailed("leaving the rooms", s.nsp.adapter.DelAll(context.Background(), s.id))
	}
}

// trackPIDLocked records s, a broadcast target now, as the holder of its
// private id until it leaves its rooms (n.mu held; recovery only).
func (n *Namespace) trackPIDLocked(s *Socket) {
	if s.pid == "" {
		return
	}
	if n.pids == nil {
		n.pids = make(map[string]*Socket)
	}
	n.pids[s.pid] = s
}

// forgetPID drops s from n.pids once it left its rooms.
func (n *Namespace) forgetPID(s *Socket) {
	if s.pid == "" {
		return
	}
	n.mu.Lock()
	if n.pids[s.pid] == s {
		delete(n.pids, s.pid)
	}
	n.mu.Unlock()
}

// supersede runs before a session is restored: if a socket of this server
// still holds the session's private id (its connection not closed yet, or
// its disconnect not finished: with polling, the client's close may reach us
// after its new connection), the client has left it. That socket is
// disconnected ("transport close", the connection its client dropped) and
// leaves its rooms and saves its session now, as the reference has done by
// the time the client reconnects: the session restored is its latest, and
// the old socket never touches the rooms of the restored id again. (In that
// race its OnDisconnecting handlers run after it left its rooms.)
func (n *Namespace) supersede(pid string) {
	n.mu.RLock()
	old := n.pids[pid]
	n.mu.RUnlock()
	if old == nil {
		return
	}
	old.onClose(ReasonTransportClose)
	old.mu.Lock()
	reason := old.reason
	old.mu.Unlock()
	old.leaveAndPersist(reason)
}

// emitStored is Socket.Emit with recovery on: like the reference, the packet
// goes through the adapter as a broadcast to the socket's own room, so that it
// is stored with an offset (and replayed if the client is away).
func (s *Socket) emitStored(event string, args []any) error {
	s.notifyOutgoing(event, args)
	p := &parser.Packet{Type: parser.Event, Namespace: s.nsp.name, Event: event, Args: args}
	return s.nsp.broadcast(context.Background(), p, &adapter.BroadcastOptions{Rooms: []string{s.id}})
}
