package socketio

import "encoding/json"

// Recovered reports whether the last connection of the socket recovered its
// previous session (connection state recovery on the server): the server kept
// its id, rooms and data, and replayed the events it missed while it was
// away. Those events carry their offset as their last argument, as the
// reference sends them.
func (s *ClientSocket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected && s.recovered
}

// withRecovery returns the CONNECT payload with the private session id and the
// last offset added; the keys of auth win. An auth that is not an object (or
// does not encode as one) is sent unchanged.
func withRecovery(auth any, pid, offset string) any {
	out := map[string]any{"pid": pid}
	if offset != "" {
		out["offset"] = offset
	}
	switch a := auth.(type) {
	case nil:
		return out
	case map[string]any:
		for k, v := range a {
			out[k] = v
		}
		return out
	}
	b, err := json.Marshal(auth)
	if err != nil {
		return auth
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil || m == nil {
		return auth
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DropConnection closes the current Engine.IO connection without DISCONNECT
// packets, like socket.io.engine.close() of the reference client: the sockets
// see a transport close and the Manager reconnects (unless reconnection is
// off). It does nothing while no connection is open.
func (m *Manager) DropConnection() {
	if c := m.currentConn(); c != nil {
		_ = c.Close()
	}
}
