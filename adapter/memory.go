package adapter

import (
	"context"
	"slices"
	"sync"

	"github.com/corvid-io/corvid/parser"
)

// Memory is the in-memory adapter of a single server: a rooms index (room ->
// socket ids and socket id -> rooms) under one RWMutex. Lookups take the read
// lock; the targets of an operation are collected under it and the Namespace is
// called after it is released.
//
// A socket's own room (the room named by its id, which every socket of a
// Socket.IO server is in) is a flag of the socket's entry, not a member set:
// a set per socket for a room of one would cost more than the rest of the
// index.
type Memory struct {
	ns Namespace

	mu        sync.RWMutex
	rooms     map[string]map[string]struct{} // room -> socket ids, own rooms excepted
	sids      map[string]member              // socket id -> rooms
	roomsPeak int                            // most rooms since rooms was made
	sidsPeak  int                            // most sockets since sids was made
	closed    bool

	events  *RoomEvents // nil: no room events, and no cost
	pending []roomEvent // events of the change under way, fired after m.mu
}

// RoomEvents are hooks called when the memory adapter's rooms change, as the
// events of the reference's in-memory adapter (create-room, delete-room,
// join-room, leave-room). A socket's own room counts as a room, as there.
// They run after the change, on the goroutine that made it, with no lock
// held, in the order of the changes of one call (the calls of different
// goroutines may interleave). A nil field is not called. One difference in
// order: at a disconnect (DelAll) the socket leaves its own room first, where
// the reference leaves its rooms in the order joined.
type RoomEvents struct {
	CreateRoom func(nsp, room string)
	DeleteRoom func(nsp, room string)
	JoinRoom   func(nsp, room, id string)
	LeaveRoom  func(nsp, room, id string)
}

// NewMemoryWithRoomEvents returns a Factory of in-memory adapters that call
// ev's hooks. NewMemory's adapters have none and pay nothing for them.
func NewMemoryWithRoomEvents(ev RoomEvents) Factory {
	return func(ns Namespace) (Adapter, error) {
		a, err := NewMemory(ns)
		if err == nil {
			a.(*Memory).events = &ev
		}
		return a, err
	}
}

type roomEventKind uint8

const (
	evCreate roomEventKind = iota
	evDelete
	evJoin
	evLeave
)

type roomEvent struct {
	kind     roomEventKind
	room, id string
}

// emitLocked records an event when there are hooks. m.mu is held.
func (m *Memory) emitLocked(kind roomEventKind, room, id string) {
	if m.events != nil {
		m.pending = append(m.pending, roomEvent{kind, room, id})
	}
}

// existsLocked reports whether room has a member. m.mu is held.
func (m *Memory) existsLocked(room string) bool {
	return len(m.rooms[room]) > 0 || m.sids[room].own
}

// unlock releases m.mu and then calls the hooks of the events recorded
// under it.
func (m *Memory) unlock() {
	if m.events == nil || len(m.pending) == 0 {
		m.mu.Unlock()
		return
	}
	evs := m.pending
	m.pending = nil
	m.mu.Unlock()
	ev, nsp := m.events, m.ns.Name()
	for _, e := range evs {
		switch {
		case e.kind == evCreate && ev.CreateRoom != nil:
			ev.CreateRoom(nsp, e.room)
		case e.kind == evDelete && ev.DeleteRoom != nil:
			ev.DeleteRoom(nsp, e.room)
		case e.kind == evJoin && ev.JoinRoom != nil:
			ev.JoinRoom(nsp, e.room, e.id)
		case e.kind == evLeave && ev.LeaveRoom != nil:
			ev.LeaveRoom(nsp, e.room, e.id)
		}
	}
}

// shrinkMin is the number of rooms below which the rooms map is never
// rebuilt. A Go map keeps the memory of its largest size: once the rooms have
// fallen to a quarter of their peak the map is copied into a new one, so
// that one socket that joined and left 100,000 rooms does not leave their
// memory behind (the copy is paid for by the deletions before it).
const shrinkMin = 1024

// sidGoneLocked drops the socket id from sids, rebuilding the map as
// roomGoneLocked does for rooms. m.mu is held.
func (m *Memory) sidGoneLocked(id string) {
	delete(m.sids, id)
	if m.sidsPeak > shrinkMin && len(m.sids) < m.sidsPeak/4 {
		sids := make(map[string]member, len(m.sids))
		for k, v := range m.sids {
			sids[k] = v
		}
		m.sids = sids
		m.sidsPeak = len(sids)
	}
}

// roomGoneLocked drops the empty room r. m.mu is held.
func (m *Memory) roomGoneLocked(r string) {
	delete(m.rooms, r)
	if m.roomsPeak > shrinkMin && len(m.rooms) < m.roomsPeak/4 {
		rooms := make(map[string]map[string]struct{}, len(m.rooms))
		for k, v := range m.rooms {
			rooms[k] = v
		}
		m.rooms = rooms
		m.roomsPeak = len(rooms)
	}
}

// member is the rooms of one socket.
//
// Up to memberSetMin rooms they are a slice searched in order. Beyond, idx
// maps each room to its position in rooms, and a room left is only dropped
// from idx: its slot stays in rooms, stale (idx no longer points at it),
// until the stale slots outnumber the live ones and rooms is compacted in
// place. Join, leave and membership tests thus cost O(1) (amortized) whatever
// the number of rooms, and the order joined is kept.
type member struct {
	own   bool           // in the room named by its id
	rooms []string       // its other rooms, in the order joined (stale slots with idx)
	idx   map[string]int // room -> position in rooms, once more than memberSetMin
}

// memberSetMin is the number of rooms of a socket up to which they are
// searched in order; beyond it a set is kept beside them.
const memberSetMin = 16

// count returns the number of rooms, its own excepted.
func (mb *member) count() int {
	if mb.idx != nil {
		return len(mb.idx)
	}
	return len(mb.rooms)
}

func (mb *member) has(room string) bool {
	if mb.idx != nil {
		_, ok := mb.idx[room]
		return ok
	}
	return slices.Contains(mb.rooms, room)
}

// live reports whether slot i of rooms is a room the socket is in.
func (mb *member) live(i int) bool {
	if mb.idx == nil {
		return true
	}
	j, ok := mb.idx[mb.rooms[i]]
	return ok && j == i
}

func (mb *member) add(room string) {
	if mb.idx != nil {
		mb.idx[room] = len(mb.rooms)
	}
	mb.rooms = append(mb.rooms, room)
	if mb.idx == nil && len(mb.rooms) > memberSetMin {
		mb.idx = make(map[string]int, 2*len(mb.rooms))
		for i, r := range mb.rooms {
			mb.idx[r] = i
		}
	}
}

func (mb *member) del(room string) {
	if mb.idx == nil {
		if i := slices.Index(mb.rooms, room); i >= 0 {
			mb.rooms = slices.Delete(mb.rooms, i, i+1)
		}
		return
	}
	i, ok := mb.idx[room]
	if !ok {
		return
	}
	delete(mb.idx, room)
	mb.rooms[i] = "" // stale; "" is live only where idx says so
	if stale := len(mb.rooms) - len(mb.idx); stale > len(mb.idx) && stale > memberSetMin {
		mb.compact()
	}
}

// compact drops the stale slots of rooms, keeping the order; below
// memberSetMin rooms the set is dropped too, and with it its memory.
func (mb *member) compact() {
	n := 0
	for i, r := range mb.rooms {
		if j, ok := mb.idx[r]; ok && j == i {
			mb.rooms[n] = r
			mb.idx[r] = n
			n++
		}
	}
	clear(mb.rooms[n:])
	mb.rooms = mb.rooms[:n]
	if n <= memberSetMin {
		mb.idx = nil
		mb.rooms = slices.Clone(mb.rooms)
	} else if cap(mb.rooms) > 4*n {
		mb.rooms = slices.Clone(mb.rooms)
	}
}

// each calls fn for each room, its own excepted, in the order joined.
func (mb *member) each(fn func(room string)) {
	for i, r := range mb.rooms {
		if mb.live(i) {
			fn(r)
		}
	}
}

var _ Adapter = (*Memory)(nil)

// NewMemory returns an in-memory adapter for ns. It is a Factory.
func NewMemory(ns Namespace) (Adapter, error) {
	return &Memory{
		ns:    ns,
		rooms: make(map[string]map[string]struct{}),
		sids:  make(map[string]member),
	}, nil
}

// AddAll implements Adapter.
func (m *Memory) AddAll(_ context.Context, id string, rooms []string) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	m.addLocked(id, rooms)
	m.unlock()
	return nil
}

func (m *Memory) addLocked(id string, rooms []string) {
	mb := m.sids[id]
	for _, r := range rooms {
		if r == id {
			if !mb.own && m.events != nil {
				if len(m.rooms[id]) == 0 {
					m.emitLocked(evCreate, id, "")
				}
				m.emitLocked(evJoin, id, id)
			}
			mb.own = true
			continue
		}
		if mb.has(r) {
			continue
		}
		if m.events != nil && !m.existsLocked(r) {
			m.emitLocked(evCreate, r, "")
		}
		mb.add(r)
		members := m.rooms[r]
		if members == nil {
			members = make(map[string]struct{}, 1)
			m.rooms[r] = members
			m.roomsPeak = max(m.roomsPeak, len(m.rooms))
		}
		members[id] = struct{}{}
		m.emitLocked(evJoin, r, id)
	}
	m.sids[id] = mb
	m.sidsPeak = max(m.sidsPeak, len(m.sids))
}

// Del implements Adapter.
func (m *Memory) Del(_ context.Context, id, room string) error {
	m.mu.Lock()
	m.delLocked(id, room)
	m.unlock()
	return nil
}

func (m *Memory) delLocked(id, room string) {
	if mb, ok := m.sids[id]; ok && room == id {
		if mb.own {
			mb.own = false
			m.sids[id] = mb
			m.emitLocked(evLeave, id, id)
			if len(m.rooms[id]) == 0 {
				m.emitLocked(evDelete, id, "")
			}
		}
		return
	} else if ok {
		mb.del(room)
		m.sids[id] = mb
	}
	if members := m.rooms[room]; members != nil {
		if _, in := members[id]; !in {
			return
		}
		delete(members, id)
		m.emitLocked(evLeave, room, id)
		if len(members) == 0 {
			m.roomGoneLocked(room)
			if m.events != nil && !m.sids[room].own {
				m.emitLocked(evDelete, room, "")
			}
		}
	}
}

// DelAll implements Adapter.
func (m *Memory) DelAll(_ context.Context, id string) error {
	m.mu.Lock()
	mb := m.sids[id]
	if mb.own {
		m.delLocked(id, id)
	}
	mb.each(func(r string) {
		if members := m.rooms[r]; members != nil {
			delete(members, id)
			m.emitLocked(evLeave, r, id)
			if len(members) == 0 {
				m.roomGoneLocked(r)
				if m.events != nil && !m.sids[r].own {
					m.emitLocked(evDelete, r, "")
				}
			}
		}
	})
	m.sidGoneLocked(id)
	m.unlock()
	return nil
}

// SocketRooms implements Adapter.
func (m *Memory) SocketRooms(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mb, ok := m.sids[id]
	if !ok {
		return nil
	}
	out := make([]string, 0, mb.count()+1)
	if mb.own {
		out = append(out, id)
	}
	if mb.idx == nil {
		return append(out, mb.rooms...)
	}
	mb.each(func(r string) { out = append(out, r) })
	return out
}

// HasSocket reports whether id is a local socket of the index, without
// copying its rooms (SocketRooms(id) != nil costs a copy of them).
func (m *Memory) HasSocket(id string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.sids[id]
	return ok
}

// HasRoom reports whether room has a local socket (a socket's own room
// included), in constant time.
func (m *Memory) HasRoom(room string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.existsLocked(room)
}

// SocketRoomCount returns the number of rooms the local socket id would be in
// after joining rooms, its own room not counted (each room counted once). It
// costs O(len(rooms)), not a copy of the socket's rooms: it is the
// RoomCounter of the memory adapter.
func (m *Memory) SocketRoomCount(id string, rooms []string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mb := m.sids[id]
	n := mb.count()
	var seen map[string]struct{}
	if len(rooms) > memberSetMin {
		seen = make(map[string]struct{}, len(rooms))
	}
	for i, r := range rooms {
		if r == id || mb.has(r) {
			continue
		}
		if seen != nil {
			if _, dup := seen[r]; dup {
				continue
			}
			seen[r] = struct{}{}
		} else if slices.Contains(rooms[:i], r) {
			continue
		}
		n++
	}
	return n
}

// Sockets implements Adapter.
func (m *Memory) Sockets(_ context.Context, rooms []string) ([]string, error) {
	ids := m.targets(&BroadcastOptions{Rooms: rooms}, nil)
	return ids, nil
}

// Rooms implements Adapter.
func (m *Memory) Rooms(context.Context) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.rooms)+len(m.sids))
	for r := range m.rooms {
		out = append(out, r)
	}
	for id, mb := range m.sids {
		if _, dup := m.rooms[id]; mb.own && !dup {
			out = append(out, id)
		}
	}
	return out, nil
}

var idsPool = sync.Pool{New: func() any { s := make([]string, 0, 64); return &s }}

// roomSet is the members of one room: the sockets that joined it and, when
// the room is a socket's own room, that socket.
type roomSet struct {
	members map[string]struct{}
	self    string
	hasSelf bool
}

// roomLocked returns the members of room r; false when it has none. m.mu is held.
func (m *Memory) roomLocked(r string) (roomSet, bool) {
	rs := roomSet{members: m.rooms[r]}
	if mb, ok := m.sids[r]; ok && mb.own {
		rs.self, rs.hasSelf = r, true
	}
	return rs, rs.hasSelf || len(rs.members) > 0
}

func (rs *roomSet) has(id string) bool {
	if rs.hasSelf && id == rs.self {
		return true
	}
	_, ok := rs.members[id]
	return ok
}

// targets appends to dst the local socket ids selected by opts. Membership
// tests use the member sets of the rooms involved (small and hot in cache),
// not the per-socket rooms, and allocate nothing for up to 4 rooms.
func (m *Memory) targets(opts *BroadcastOptions, dst []string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var exBuf [4]roomSet
	ex := exBuf[:0]
	for _, r := range opts.Except {
		if rs, ok := m.roomLocked(r); ok {
			ex = append(ex, rs)
		}
	}
	if len(opts.Rooms) == 0 {
		for id := range m.sids {
			if !inAny(ex, id) {
				dst = append(dst, id)
			}
		}
		return dst
	}
	// A socket in several of the rooms is sent to once: it is taken in the
	// first of opts.Rooms that holds it.
	var inBuf [4]roomSet
	in := inBuf[:0]
	for _, r := range opts.Rooms {
		rs, ok := m.roomLocked(r)
		if !ok {
			continue
		}
		if rs.hasSelf && !inAny(ex, rs.self) && !inAny(in, rs.self) {
			dst = append(dst, rs.self)
		}
		for id := range rs.members {
			if !inAny(ex, id) && !inAny(in, id) {
				dst = append(dst, id)
			}
		}
		if len(opts.Rooms) > 1 {
			in = append(in, rs)
		}
	}
	return dst
}

func inAny(sets []roomSet, id string) bool {
	for i := range sets {
		if sets[i].has(id) {
			return true
		}
	}
	return false
}

func (m *Memory) withTargets(opts *BroadcastOptions, fn func(ids []string)) {
	if opts == nil {
		opts = &BroadcastOptions{}
	}
	p := idsPool.Get().(*[]string)
	ids := m.targets(opts, (*p)[:0])
	fn(ids)
	clear(ids)
	*p = ids[:0]
	idsPool.Put(p)
}

func (m *Memory) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}

// Broadcast implements Adapter: p is encoded once and the same messages are
// delivered to every target.
func (m *Memory) Broadcast(_ context.Context, p *parser.Packet, opts *BroadcastOptions) error {
	if m.isClosed() {
		return ErrClosed
	}
	if opts == nil {
		opts = &BroadcastOptions{}
	}
	p.Namespace = m.ns.Name()
	msgs, err := m.ns.Encode(p)
	if err != nil {
		return err
	}
	flags := &opts.Flags
	m.withTargets(opts, func(ids []string) { m.deliver(ids, msgs, flags) })
	return nil
}

// batchDeliverer is implemented by a Namespace that delivers to many local
// sockets at once for less than one Deliver per socket (socketio's looks
// them all up under one lock). DeliverBatch does what Deliver does for each id.
type batchDeliverer interface {
	DeliverBatch(ids []string, msgs []parser.Message, flags *Flags)
}

// deliver delivers msgs to the local sockets ids.
func (m *Memory) deliver(ids []string, msgs []parser.Message, flags *Flags) {
	if bd, ok := m.ns.(batchDeliverer); ok {
		bd.DeliverBatch(ids, msgs, flags)
		return
	}
	for _, id := range ids {
		m.ns.Deliver(id, msgs, flags)
	}
}

// BroadcastWithAck implements Adapter.
func (m *Memory) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *BroadcastOptions,
	onCount func(n int, ids []string), onAck func(socketID string, args []any)) error {
	if m.isClosed() {
		return ErrClosed
	}
	if opts == nil {
		opts = &BroadcastOptions{}
	}
	p.Namespace = m.ns.Name()
	p.ID = m.ns.NextAckID()
	p.HasID = true
	msgs, err := m.ns.Encode(p)
	if err != nil {
		return err
	}
	flags := &opts.Flags
	ids := m.targets(opts, nil)
	sent := ids[:0]
	for _, id := range ids {
		id := id
		if m.ns.DeliverWithAck(ctx, id, msgs, flags, p.ID, func(args []any) { onAck(id, args) }) {
			sent = append(sent, id)
		}
	}
	onCount(len(sent), sent)
	return nil
}

// ServerCount implements Adapter: always 1.
func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

// FetchSockets implements Adapter.
func (m *Memory) FetchSockets(_ context.Context, opts *BroadcastOptions) ([]SocketInfo, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	var out []SocketInfo
	m.withTargets(opts, func(ids []string) {
		out = make([]SocketInfo, 0, len(ids))
		for _, id := range ids {
			info, ok := m.ns.SocketInfo(id)
			if !ok {
				continue
			}
			info.ID = id
			info.Rooms = m.SocketRooms(id)
			info.Local = true
			out = append(out, info)
		}
	})
	return out, nil
}

// AddSockets implements Adapter.
func (m *Memory) AddSockets(_ context.Context, opts *BroadcastOptions, rooms []string) error {
	if m.isClosed() {
		return ErrClosed
	}
	m.withTargets(opts, func(ids []string) {
		m.mu.Lock()
		for _, id := range ids {
			if _, ok := m.sids[id]; ok {
				m.addLocked(id, rooms)
			}
		}
		m.unlock()
	})
	return nil
}

// DelSockets implements Adapter.
func (m *Memory) DelSockets(_ context.Context, opts *BroadcastOptions, rooms []string) error {
	if m.isClosed() {
		return ErrClosed
	}
	m.withTargets(opts, func(ids []string) {
		m.mu.Lock()
		for _, id := range ids {
			for _, r := range rooms {
				m.delLocked(id, r)
			}
		}
		m.unlock()
	})
	return nil
}

// DisconnectSockets implements Adapter.
func (m *Memory) DisconnectSockets(_ context.Context, opts *BroadcastOptions, close bool) error {
	if m.isClosed() {
		return ErrClosed
	}
	var ids []string
	m.withTargets(opts, func(t []string) { ids = append(ids, t...) })
	for _, id := range ids {
		m.ns.Disconnect(id, close)
	}
	return nil
}

// ServerSideEmit implements Adapter: there is no other server, so it does nothing.
func (m *Memory) ServerSideEmit(context.Context, []any) error {
	if m.isClosed() {
		return ErrClosed
	}
	return nil
}

// ServerSideEmitWithAck implements Adapter: there is no other server, so it
// returns no answers at once.
func (m *Memory) ServerSideEmitWithAck(context.Context, []any) ([]any, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	return []any{}, nil
}

// Close implements Adapter. It is idempotent.
func (m *Memory) Close(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
