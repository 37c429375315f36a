package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// SerializedSocket is a socket as the UI sees it (all_sockets,
// socket_connected).
type SerializedSocket struct {
	ID string `json:"id"`
	// ClientID is the first 12 characters of the Engine.IO id; Transport is
	// "polling" or "websocket". Both are empty for a socket of another
	// server of a cluster.
	ClientID  string              `json:"clientId"`
	Transport string              `json:"transport"`
	Nsp       string              `json:"nsp"`
	Data      any                 `json:"data"`
	Handshake SerializedHandshake `json:"handshake"`
	Rooms     []string            `json:"rooms"`
}

// SerializedHandshake is the handshake of a SerializedSocket.
type SerializedHandshake struct {
	// Address is the cf-connecting-ip header, else x-forwarded-for, else
	// the remote address, as the reference.
	Address string            `json:"address"`
	Headers map[string]string `json:"headers"`
	Query   map[string]string `json:"query"`
	Issued  int64             `json:"issued"`
	Secure  bool              `json:"secure"`
	Time    string            `json:"time"`
	URL     string            `json:"url"`
	XDomain bool              `json:"xdomain"`
}

// ServerStats is the payload of server_stats.
type ServerStats struct {
	ServerID string  `json:"serverId"`
	Hostname string  `json:"hostname"`
	PID      int     `json:"pid"`
	Uptime   float64 `json:"uptime"` // seconds
	// ClientsCount counts the Engine.IO connections that have a socket in
	// some namespace of this server; PollingClientsCount those of them on
	// HTTP long-polling.
	ClientsCount        int                `json:"clientsCount"`
	PollingClientsCount int                `json:"pollingClientsCount"`
	AggregatedEvents    []*AggregatedEvent `json:"aggregatedEvents"`
	Namespaces          []NamespaceStats   `json:"namespaces"`
}

// AggregatedEvent counts the events of one type in one second.
type AggregatedEvent struct {
	Timestamp int64 `json:"timestamp"` // ms, whole seconds
	// Type is rawConnection or rawDisconnection, and with Options.Engine
	// also packetsIn, packetsOut, bytesIn or bytesOut.
	Type    string `json:"type"`
	SubType string `json:"subType,omitempty"`
	Count   int    `json:"count"`
}

// NamespaceStats is one namespace in ServerStats.
type NamespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// jsDate formats t as JavaScript's Date.prototype.toString does, the
// reference's handshake.time.
func jsDate(t time.Time) string { return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700 (MST)") }

// isoDate is how a JavaScript Date crosses JSON: toISOString.
func isoDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func clientID(eid string) string {
	if len(eid) > 12 {
		return eid[:12]
	}
	return eid
}

func flatten(h map[string][]string, lower bool) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if lower {
			k = strings.ToLower(k)
		}
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func serializeInfo(nsp, id string, hs *socketio.Handshake, rooms []string, data any) SerializedSocket {
	ss := SerializedSocket{ID: id, Nsp: nsp, Data: data, Rooms: rooms}
	if ss.Rooms == nil {
		ss.Rooms = []string{}
	}
	if _, ok := data.(adminData); ok || data == nil {
		ss.Data = map[string]any{}
	}
	if hs != nil {
		h := SerializedHandshake{Headers: flatten(hs.Headers, true), Query: flatten(url.Values(hs.Query), false),
			Issued: hs.Issued(), Secure: hs.Secure, Time: jsDate(hs.Time), URL: hs.URL, XDomain: hs.XDomain,
			Address: hs.Address}
		hd := http.Header(hs.Headers)
		if v := hd.Get("Cf-Connecting-Ip"); v != "" {
			h.Address = v
		} else if v := hd.Get("X-Forwarded-For"); v != "" {
			h.Address = v
		}
		ss.Handshake = h
	} else {
		ss.Handshake = SerializedHandshake{Headers: map[string]string{}, Query: map[string]string{}}
	}
	return ss
}

func serializeLocal(s *socketio.Socket) SerializedSocket {
	ss := serializeInfo(s.Namespace().Name(), s.ID(), s.Handshake(), s.Rooms(), s.Data())
	ss.ClientID = clientID(s.EngineID())
	ss.Transport = s.Transport()
	return ss
}

// syncNamespaces hooks the namespaces created since the last call and
// forgets the removed ones.
func (a *Admin) syncNamespaces() {
	nsps := a.srv.Namespaces()
	var fresh []*socketio.Namespace
	a.mu.Lock()
	seen := make(map[*socketio.Namespace]struct{}, len(nsps))
	for _, n := range nsps {
		seen[n] = struct{}{}
		if _, ok := a.hooked[n]; !ok {
			a.hooked[n] = struct{}{}
			fresh = append(fresh, n)
		}
	}
	for n := range a.hooked {
		if _, ok := seen[n]; !ok {
			delete(a.hooked, n)
		}
	}
	a.mu.Unlock()
	for _, n := range fresh {
		n.OnConnection(func(s *socketio.Socket) { a.onSocket(n, s) })
	}
}

// onSocket reports a socket connecting to any namespace, and hooks it.
func (a *Admin) onSocket(n *socketio.Namespace, s *socketio.Socket) {
	eid := s.EngineID()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return
	}
	// With Options.Engine, the Engine.IO connections are counted there.
	if a.opts.Engine == nil {
		a.clients[eid]++
		if a.clients[eid] == 1 {
			a.countLocked("rawConnection", "")
		}
	}
	a.mu.Unlock()
	dev := !a.opts.Production
	s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		a.mu.Lock()
		if c, ok := a.clients[eid]; ok {
			if c <= 1 {
				delete(a.clients, eid)
				a.countLocked("rawDisconnection", string(reason))
			} else {
				a.clients[eid] = c - 1
			}
		}
		closed := a.closed
		a.mu.Unlock()
		if dev && !closed {
			_ = a.nsp.Emit("socket_disconnected", n.Name(), s.ID(), string(reason), isoDate(time.Now()))
		}
	})
	if !dev {
		return
	}
	_ = a.nsp.Emit("socket_connected", serializeLocal(s), isoDate(time.Now()))
	if n == a.nsp {
		return
	}
	s.OnAny(func(s *socketio.Socket, event string, args socketio.Args) {
		if a.isClosed() {
			return
		}
		_ = a.nsp.Emit("event_received", n.Name(), s.ID(), append([]any{event}, args...), isoDate(time.Now()))
	})
	s.OnAnyOutgoing(func(s *socketio.Socket, event string, args []any) {
		if a.isClosed() {
			return
		}
		_ = a.nsp.Emit("event_sent", n.Name(), s.ID(), append([]any{event}, args...), isoDate(time.Now()))
	})
}

// countLocked adds one to the aggregated event of this second.
func (a *Admin) countLocked(typ, subType string) {
	a.addLocked(time.Now().Truncate(time.Second).UnixMilli(), typ, subType, 1)
}

// addLocked adds n to the aggregated event of the second ts (Unix
// milliseconds); nothing when n is 0.
func (a *Admin) addLocked(ts int64, typ, subType string, n int64) {
	if n == 0 {
		return
	}
	k := aggKey{ts, typ, subType}
	if e := a.agg[k]; e != nil {
		e.Count += int(n)
		return
	}
	if len(a.agg) >= maxAggregated {
		return
	}
	a.agg[k] = &AggregatedEvent{Timestamp: ts, Type: typ, SubType: subType, Count: int(n)}
}

// stats builds server_stats; the aggregated events are those counted since
// the last call.
func (a *Admin) stats() ServerStats {
	st := ServerStats{ServerID: a.opts.ServerID, Hostname: a.hostname, PID: a.pid,
		Uptime: time.Since(a.start).Seconds(), AggregatedEvents: []*AggregatedEvent{},
		Namespaces: []NamespaceStats{}}
	engines := make(map[string]bool)
	for _, n := range a.srv.Namespaces() {
		socks := n.Sockets()
		st.Namespaces = append(st.Namespaces, NamespaceStats{Name: n.Name(), SocketsCount: len(socks)})
		for _, s := range socks {
			engines[s.EngineID()] = s.Transport() == "polling"
		}
	}
	st.ClientsCount = len(engines)
	for _, polling := range engines {
		if polling {
			st.PollingClientsCount++
		}
	}
	a.mu.Lock()
	if obs := a.opts.Engine; obs != nil {
		obs.foldLocked(a, time.Now().Truncate(time.Second).UnixMilli())
	}
	for k, e := range a.agg {
		st.AggregatedEvents = append(st.AggregatedEvents, e)
		delete(a.agg, k)
	}
	a.mu.Unlock()
	return st
}

func (a *Admin) statsLoop(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-a.roomq:
			a.sendRoom(e)
			continue
		case <-t.C:
		}
		a.syncNamespaces()
		_ = a.nsp.Emit("server_stats", a.stats())
	}
}

// registerCommands handles the UI's commands on admin socket s.
func (a *Admin) registerCommands(s *socketio.Socket) {
	// target returns the namespace and the operator for (nsp, filter); nil
	// for an unknown namespace.
	target := func(args socketio.Args, nspAt, filterAt int) (*socketio.Namespace, socketio.BroadcastOperator, bool) {
		var name, filter string
		if args.Decode(nspAt, &name) != nil {
			return nil, socketio.BroadcastOperator{}, false
		}
		n := a.lookup(name)
		if n == nil {
			return nil, socketio.BroadcastOperator{}, false
		}
		_ = args.Decode(filterAt, &filter) // absent or null: the whole namespace
		if filter != "" {
			return n, n.In(filter), true
		}
		return n, n.To(), true
	}
	ctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(s.Context(), a.opts.CommandTimeout)
	}
	s.On("emit", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
		_, op, ok := target(args, 0, 1)
		var ev string
		if !ok || args.Decode(2, &ev) != nil || ev == "" {
			return
		}
		c, cancel := ctx()
		defer cancel()
		_ = op.EmitContext(c, ev, args[3:]...)
	})
	// join and leave: (nsp, room, filter?) -> the targets join or leave room.
	roomCommand := func(apply func(op socketio.BroadcastOperator, ctx context.Context, rooms ...string) error) socketio.EventHandler {
		return func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			_, op, ok := target(args, 0, 2)
			var room string
			if !ok || args.Decode(1, &room) != nil || room == "" {
				return
			}
			c, cancel := ctx()
			defer cancel()
			_ = apply(op, c, room)
		}
	}
	s.On("join", roomCommand(socketio.BroadcastOperator.SocketsJoin))
	s.On("leave", roomCommand(socketio.BroadcastOperator.SocketsLeave))
	s.On("_disconnect", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
		_, op, ok := target(args, 0, 2)
		var closeConn bool
		if !ok {
			return
		}
		_ = args.Decode(1, &closeConn)
		c, cancel := ctx()
		defer cancel()
		_ = op.DisconnectSockets(c, closeConn)
	})
}
