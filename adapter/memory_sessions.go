package adapter

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corvid-io/corvid/parser"
)

// SessionOptions bound what a session-aware in-memory adapter keeps for
// connection state recovery. The zero value of every field means the default
// written next to it.
type SessionOptions struct {
	// MaxDisconnectionDuration is the recovery window: a session, and a packet,
	// older than this is forgotten (default 2 minutes).
	MaxDisconnectionDuration time.Duration
	// MaxPackets bounds the packets kept for replay (default 10,000). Over it
	// the oldest are dropped: a client whose offset was dropped is not
	// recovered and gets a fresh session.
	MaxPackets int
	// MaxBytes bounds the encoded size of the packets kept (default 16 MiB),
	// with the same policy as MaxPackets.
	MaxBytes int
	// MaxSessions bounds the disconnected sessions kept (default 100,000);
	// over it the oldest is forgotten (its client gets a fresh session).
	MaxSessions int
	// Now returns the current time (default time.Now); tests set it.
	Now func() time.Time
}

func (o *SessionOptions) withDefaults() SessionOptions {
	var c SessionOptions
	if o != nil {
		c = *o
	}
	if c.MaxDisconnectionDuration <= 0 {
		c.MaxDisconnectionDuration = 2 * time.Minute
	}
	if c.MaxPackets <= 0 {
		c.MaxPackets = 10000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 16 << 20
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 100000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// MemorySessions is the in-memory adapter with connection state recovery
// (the reference's SessionAwareAdapter): every broadcast EVENT without an
// acknowledgement and not volatile gets an offset, appended as its last
// argument, and is kept for the recovery window; sessions of disconnected
// sockets are kept for the same window. Memory is bounded by SessionOptions.
//
// Broadcasts of the namespace are applied one at a time (the packet log and
// every socket's send queue see them in the same order), so a recovered client
// gets each missed packet once, in order.
type MemorySessions struct {
	*Memory
	opts   SessionOptions
	prefix string // random per adapter: offsets of another run never match

	logMu sync.Mutex
	log   []loggedPacket // seq first..first+len-1
	first uint64         // seq of log[0]
	next  uint64         // seq of the next packet
	bytes int

	sessMu   sync.Mutex
	sessions map[string]*storedSession // by pid
	gen      uint64
	order    []orderEntry // persist order (may hold stale entries)
}

type loggedPacket struct {
	pkt    *parser.Packet // Args end with the offset
	rooms  []string
	except []string
	at     time.Time
	size   int
}

type orderEntry struct {
	pid string
	at  time.Time
	gen uint64
}

type storedSession struct {
	s   Session
	at  time.Time
	gen uint64
}

var _ SessionStore = (*MemorySessions)(nil)

// NewMemorySessions returns a Factory of session-aware in-memory adapters.
func NewMemorySessions(opts *SessionOptions) Factory {
	o := opts.withDefaults()
	return func(ns Namespace) (Adapter, error) {
		m, _ := NewMemory(ns)
		var b [6]byte
		_, _ = rand.Read(b[:])
		return &MemorySessions{
			Memory:   m.(*Memory),
			opts:     o,
			prefix:   base64.RawURLEncoding.EncodeToString(b[:]) + "-",
			sessions: make(map[string]*storedSession),
		}, nil
	}
}

// storable reports whether the reference keeps p for recovery: an EVENT, with
// no acknowledgement, not volatile.
func storable(p *parser.Packet, opts *BroadcastOptions) bool {
	return (p.Type == parser.Event || p.Type == parser.BinaryEvent) && !p.HasID && !opts.Flags.Volatile
}

// Broadcast implements Adapter. A storable packet gets the next offset as its
// last argument (p itself is not modified) and is kept for replay.
func (m *MemorySessions) Broadcast(ctx context.Context, p *parser.Packet, opts *BroadcastOptions) error {
	if opts == nil {
		opts = &BroadcastOptions{}
	}
	if !storable(p, opts) {
		return m.Memory.Broadcast(ctx, p, opts)
	}
	if m.isClosed() {
		return ErrClosed
	}
	m.logMu.Lock()
	defer m.logMu.Unlock()
	seq := m.next
	cp := *p
	cp.Namespace = m.ns.Name()
	cp.Args = append(append(make([]any, 0, len(p.Args)+1), p.Args...), m.prefix+strconv.FormatUint(seq, 36))
	msgs, err := m.ns.Encode(&cp)
	if err != nil {
		return err
	}
	size := 0
	for _, msg := range msgs {
		size += len(msg.Data)
	}
	m.next++
	now := m.opts.Now()
	m.log = append(m.log, loggedPacket{pkt: &cp, rooms: clone(opts.Rooms), except: clone(opts.Except), at: now, size: size})
	m.bytes += size
	m.trimLocked(now)
	// Delivered under logMu: every socket's queue gets the packets in log order.
	flags := &opts.Flags
	m.withTargets(opts, func(ids []string) { m.deliver(ids, msgs, flags) })
	return nil
}

func clone(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// trimLocked drops the packets past the window or over the bounds.
func (m *MemorySessions) trimLocked(now time.Time) {
	limit := now.Add(-m.opts.MaxDisconnectionDuration)
	n := 0
	for n < len(m.log) && (len(m.log)-n > m.opts.MaxPackets || m.bytes > m.opts.MaxBytes || m.log[n].at.Before(limit)) {
		m.bytes -= m.log[n].size
		m.log[n] = loggedPacket{}
		n++
	}
	if n > 0 {
		m.log = m.log[n:]
		m.first += uint64(n)
		if cap(m.log) > 2*m.opts.MaxPackets && len(m.log) < cap(m.log)/4 {
			m.log = append([]loggedPacket(nil), m.log...)
		}
	}
}

// PersistSession implements SessionStore: s is kept until the window ends.
func (m *MemorySessions) PersistSession(_ context.Context, s *Session) error {
	if m.isClosed() {
		return ErrClosed
	}
	now := m.opts.Now()
	cp := *s
	cp.Rooms = clone(s.Rooms)
	cp.Missed = nil
	m.sessMu.Lock()
	defer m.sessMu.Unlock()
	m.gen++
	m.sessions[s.PID] = &storedSession{s: cp, at: now, gen: m.gen}
	m.order = append(m.order, orderEntry{pid: s.PID, at: now, gen: m.gen})
	// Forget the expired sessions and those over the bound, oldest first. An
	// entry whose pid was persisted again later is stale and only skipped.
	limit := now.Add(-m.opts.MaxDisconnectionDuration)
	n := 0
	for ; n < len(m.order); n++ {
		e := m.order[n]
		st := m.sessions[e.pid]
		live := st != nil && st.gen == e.gen
		if live && len(m.sessions) <= m.opts.MaxSessions && !e.at.Before(limit) {
			break
		}
		if live {
			delete(m.sessions, e.pid)
		}
	}
	if n > 0 {
		clear(m.order[:n])
		m.order = m.order[n:]
	}
	return nil
}

// RestoreSession implements SessionStore: the session of pid and the packets
// broadcast after offset that its rooms select, or (nil, nil) when the session
// is unknown or expired, or the offset is no longer (or never was) kept. The
// session stays stored until it expires, as the reference does.
func (m *MemorySessions) RestoreSession(_ context.Context, pid, offset string) (*Session, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	now := m.opts.Now()
	m.sessMu.Lock()
	st := m.sessions[pid]
	if st != nil && st.at.Add(m.opts.MaxDisconnectionDuration).Before(now) {
		delete(m.sessions, pid)
		st = nil
	}
	m.sessMu.Unlock()
	if st == nil {
		return nil, nil
	}
	seqStr, ok := strings.CutPrefix(offset, m.prefix)
	if !ok {
		return nil, nil
	}
	seq, err := strconv.ParseUint(seqStr, 36, 64)
	if err != nil {
		return nil, nil
	}
	m.logMu.Lock()
	defer m.logMu.Unlock()
	m.trimLocked(now)
	if seq < m.first || seq >= m.next {
		return nil, nil
	}
	out := st.s
	out.Rooms = clone(st.s.Rooms)
	for i := int(seq-m.first) + 1; i < len(m.log); i++ {
		lp := &m.log[i]
		if includes(out.Rooms, lp.rooms, lp.except) {
			out.Missed = append(out.Missed, lp.pkt)
		}
	}
	return &out, nil
}

// includes is the reference's rule: the packet targeted the whole namespace or
// one of the session's rooms, and none of its rooms is excluded.
func includes(sessionRooms, rooms, except []string) bool {
	in := len(rooms) == 0
	for _, r := range sessionRooms {
		for _, x := range except {
			if r == x {
				return false
			}
		}
		if !in {
			for _, t := range rooms {
				if r == t {
					in = true
					break
				}
			}
		}
	}
	return in
}
