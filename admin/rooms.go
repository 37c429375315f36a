package admin

import (
	"context"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
)

// RoomEvents reports room joins and leaves to an Admin (room_joined,
// room_left), which socketio's public API has no event for: it wraps the
// server's adapter factory. Make one, pass Wrap(factory) as
// socketio.ServerOptions.Adapter and the RoomEvents as Options.Rooms:
//
//	rooms := admin.NewRoomEvents()
//	srv := socketio.NewServer(&socketio.ServerOptions{Adapter: rooms.Wrap(nil)})
//	adm, err := admin.Instrument(srv, &admin.Options{Rooms: rooms, Auth: check})
//
// The changes of this server's sockets are reported: Socket.Join and Leave,
// the rooms left at disconnect, and SocketsJoin, SocketsLeave as they apply
// here. The adapter's other methods are passed through untouched; an inner
// adapter.SessionStore stays visible to connection state recovery.
type RoomEvents struct {
	mu   sync.Mutex
	sink func(nsp, room, id string, joined bool)
}

// NewRoomEvents returns a RoomEvents not yet attached to an Admin (changes
// before Instrument are not reported).
func NewRoomEvents() *RoomEvents { return &RoomEvents{} }

func (r *RoomEvents) setSink(f func(nsp, room, id string, joined bool)) {
	r.mu.Lock()
	r.sink = f
	r.mu.Unlock()
}

func (r *RoomEvents) report(nsp, id string, before, after []string) {
	r.mu.Lock()
	sink := r.sink
	r.mu.Unlock()
	if sink == nil {
		return
	}
	// Sets, not slices.Contains: a socket may be in a thousand rooms, and
	// the diff must stay linear in them.
	was := make(map[string]struct{}, len(before))
	for _, room := range before {
		was[room] = struct{}{}
	}
	is := make(map[string]struct{}, len(after))
	for _, room := range after {
		is[room] = struct{}{}
		if _, ok := was[room]; !ok {
			sink(nsp, room, id, true)
		}
	}
	for _, room := range before {
		if _, ok := is[room]; !ok {
			sink(nsp, room, id, false)
		}
	}
}

// Wrap returns a factory of adapters made by inner (adapter.NewMemory when
// nil) that report the room changes of the local sockets.
func (r *RoomEvents) Wrap(inner adapter.Factory) adapter.Factory {
	if inner == nil {
		inner = adapter.NewMemory
	}
	return func(ns adapter.Namespace) (adapter.Adapter, error) {
		a, err := inner(ns)
		if err != nil {
			return nil, err
		}
		w := &roomAdapter{Adapter: a, r: r, nsp: ns.Name()}
		if st, ok := a.(adapter.SessionStore); ok {
			return &roomSessionAdapter{roomAdapter: w, SessionStore: st}, nil
		}
		return w, nil
	}
}

type roomAdapter struct {
	adapter.Adapter
	r   *RoomEvents
	nsp string
}

type roomSessionAdapter struct {
	*roomAdapter
	adapter.SessionStore
}

func (w *roomAdapter) change(id string, f func() error) error {
	before := w.SocketRooms(id)
	err := f()
	w.r.report(w.nsp, id, before, w.SocketRooms(id))
	return err
}

func (w *roomAdapter) AddAll(ctx context.Context, id string, rooms []string) error {
	return w.change(id, func() error { return w.Adapter.AddAll(ctx, id, rooms) })
}

func (w *roomAdapter) Del(ctx context.Context, id, room string) error {
	return w.change(id, func() error { return w.Adapter.Del(ctx, id, room) })
}

func (w *roomAdapter) DelAll(ctx context.Context, id string) error {
	return w.change(id, func() error { return w.Adapter.DelAll(ctx, id) })
}

// many snapshots the rooms of the local targets of opts around f.
func (w *roomAdapter) many(ctx context.Context, opts *adapter.BroadcastOptions, f func() error) error {
	var rooms []string
	if opts != nil {
		rooms = opts.Rooms
	}
	ids, _ := w.Sockets(ctx, rooms)
	before := make(map[string][]string, len(ids))
	for _, id := range ids {
		before[id] = w.SocketRooms(id)
	}
	err := f()
	for _, id := range ids {
		w.r.report(w.nsp, id, before[id], w.SocketRooms(id))
	}
	return err
}

func (w *roomAdapter) AddSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	return w.many(ctx, opts, func() error { return w.Adapter.AddSockets(ctx, opts, rooms) })
}

func (w *roomAdapter) DelSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	return w.many(ctx, opts, func() error { return w.Adapter.DelSockets(ctx, opts, rooms) })
}

// roomEvent is a room change waiting to be sent.
type roomEvent struct {
	nsp, room, id string
	joined        bool
	at            time.Time
}

// onRoom is the sink of Options.Rooms. It runs inside the adapter's caller
// (for a connecting socket, before its CONNECT reply, when an emit to it
// would wait for that reply): the event is queued for the stats goroutine,
// which sends room_joined / room_left. Over maxRoomQueue waiting events,
// new ones are dropped.
func (a *Admin) onRoom(nsp, room, id string, joined bool) {
	select {
	case a.roomq <- roomEvent{nsp, room, id, joined, time.Now()}:
	default:
	}
}

func (a *Admin) sendRoom(e roomEvent) {
	ev := "room_left"
	if e.joined {
		ev = "room_joined"
	}
	_ = a.nsp.Emit(ev, e.nsp, e.room, e.id, isoDate(e.at))
}
