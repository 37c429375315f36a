package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// shrink returns m, or a copy of its size when it holds less than a quarter
// of its peak (Go maps do not shrink), so that memory follows the rooms. The
// copies cost O(1) per deletion, amortized.
func shrink(m map[string]struct{}, peak *int) map[string]struct{} {
	if *peak < 1024 || len(m) >= *peak/4 {
		return m
	}
	c := make(map[string]struct{}, len(m))
	for k := range m {
		c[k] = struct{}{}
	}
	*peak = len(c)
	return c
}

// roomSubBatch is the number of channels of one SSUBSCRIBE or SUNSUBSCRIBE.
const roomSubBatch = 512

// roomSubscriber keeps the room channels of one namespace (sharded dynamic
// modes) subscribed on dedicated connections: one to a standalone Redis, one
// per master of a Redis Cluster. One goroutine sends SSUBSCRIBE and
// SUNSUBSCRIBE in batches of what changed; the messages reach the
// namespace's queue from rueidis' read loops. Joining or leaving a room
// costs a map update; the maps are rebuilt smaller when the rooms empty, so
// their memory is released. The goroutines do not depend on the number of
// rooms: this one, and per connection rueidis' own and one that watches it.
type roomSubscriber struct {
	a    *Adapter
	kick chan struct{} // capacity 1: something changed

	mu    sync.Mutex
	want  map[string]struct{} // channels to be subscribed
	dirty map[string]struct{} // channels changed since the last flush
	peak  int                 // len(want) when it was last allocated
	// gen counts the changes to want; done is the last gen that Redis
	// confirmed (its flush succeeded), and doneCh is closed, then replaced,
	// whenever done moves. down: the connection is lost (reconnecting).
	gen, done uint64
	doneCh    chan struct{}
	down      bool
}

func newRoomSubscriber(a *Adapter) *roomSubscriber {
	return &roomSubscriber{a: a, kick: make(chan struct{}, 1),
		want: make(map[string]struct{}), dirty: make(map[string]struct{}), doneCh: make(chan struct{})}
}

// set records whether channel ch is wanted; the change is sent later, in a
// batch. It never blocks. It returns the generation to wait for (see wait)
// before a broadcast to ch from another server can arrive: that of the
// latest change when ch is wanted, 0 when it is not.
func (r *roomSubscriber) set(ch string, on bool) uint64 {
	r.mu.Lock()
	if r.want == nil { // closed
		r.mu.Unlock()
		return 0
	}
	_, have := r.want[ch]
	if on == have {
		g := r.gen
		r.mu.Unlock()
		if !on {
			return 0
		}
		return g
	}
	r.gen++
	g := r.gen
	if on {
		r.want[ch] = struct{}{}
		r.peak = max(r.peak, len(r.want))
		r.a.c.mon.subscriptionsN.Add(1)
	} else {
		delete(r.want, ch)
		r.a.c.mon.subscriptionsN.Add(-1)
		r.want = shrink(r.want, &r.peak)
	}
	r.dirty[ch] = struct{}{}
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
	if !on {
		return 0
	}
	return g
}

// wait returns once Redis confirmed the subscriptions of generation g (so
// that a socket that joined a room gets what other servers broadcast to it
// from then on), or at once while the connection is lost, or when ctx ends
// or d has passed: a join never waits on Redis longer than that.
func (r *roomSubscriber) wait(ctx context.Context, g uint64, d time.Duration) {
	if g == 0 {
		return
	}
	var timeout <-chan time.Time
	for {
		r.mu.Lock()
		if r.done >= g || r.down || r.want == nil {
			r.mu.Unlock()
			return
		}
		ch := r.doneCh
		r.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-timeout:
			return
		}
	}
}

// confirmed records that Redis applied the changes up to generation g, or
// that the connection is lost (down), and wakes the waiters.
func (r *roomSubscriber) confirmed(g uint64, down bool) {
	r.mu.Lock()
	if g > r.done {
		r.done = g
	}
	r.down = down
	close(r.doneCh)
	r.doneCh = make(chan struct{})
	r.mu.Unlock()
}

// close forgets the wanted channels (their count leaves Stats).
func (r *roomSubscriber) close() {
	r.mu.Lock()
	r.a.c.mon.subscriptionsN.Add(-int64(len(r.want)))
	r.want, r.dirty = nil, nil
	close(r.doneCh) // the waiters see want == nil
	r.doneCh = make(chan struct{})
	r.mu.Unlock()
}

// serverDropped reports whether a sunsubscribe of ch that Redis sent is its
// own doing (a slot migration): ch is still wanted and no change of ours to
// it is pending. It runs on rueidis' read loop and only takes r.mu.
func (r *roomSubscriber) serverDropped(ch string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, want := r.want[ch]
	_, dirty := r.dirty[ch]
	return want && !dirty
}

// errIdle ends serve when no room channel is wanted any more: the dedicated
// connections are given back until one is.
var errIdle = errors.New("redis: no room channel wanted")

// run keeps the wanted channels subscribed until ctx ends: on a standalone
// Redis on one dedicated connection, in a Redis Cluster on one dedicated
// connection per master that owns wanted channels. Any failure (connection
// lost, a slot moved: Redis unsubscribes the slot's channels itself, or a
// MOVED reply) closes them all; after a backoff of 50 ms doubling to 500 ms
// it reads the cluster's slots again and subscribes everything wanted,
// reporting the loss and the resubscription. While no channel is wanted it
// holds no connection.
func (r *roomSubscriber) run(ctx context.Context) {
	defer r.close()
	backoff := 50 * time.Millisecond
	lost := false
	for {
		r.mu.Lock()
		idle := len(r.want) == 0
		r.mu.Unlock()
		if idle && !lost {
			select {
			case <-ctx.Done():
				return
			case <-r.kick:
				continue
			}
		}
		// a fresh session: everything wanted is to be subscribed
		r.mu.Lock()
		for ch := range r.want {
			r.dirty[ch] = struct{}{}
		}
		r.mu.Unlock()
		start := time.Now()
		s, err := r.newSession(ctx)
		if err == nil {
			err = r.serve(ctx, s, &lost)
			// closed, not pooled: their subscriptions and goroutines end with them
			s.close()
		}
		if ctx.Err() != nil {
			return
		}
		if err == errIdle {
			continue
		}
		r.confirmed(0, true) // joins do not wait while it is lost
		if !lost {
			lost = true
			r.a.c.mon.emit(Event{Kind: EventSubscriberDropped, Nsp: r.a.nsp, Channel: "rooms", Err: err})
		}
		if time.Since(start) > time.Second {
			backoff = 50 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 500*time.Millisecond)
	}
}

// serve sends the changes as they come, until a connection fails, Redis
// drops a subscription itself, no channel is wanted any more (errIdle) or
// ctx ends.
func (r *roomSubscriber) serve(ctx context.Context, s *roomSession, lost *bool) error {
	for {
		err := r.flush(ctx, s)
		s.subscribed = shrink(s.subscribed, &s.peak)
		if err != nil {
			return err
		}
		if *lost {
			*lost = false
			r.a.c.mon.emit(Event{Kind: EventResubscribed, Nsp: r.a.nsp, Channel: "rooms"})
		}
		if len(s.subscribed) == 0 {
			r.mu.Lock()
			idle := len(r.want) == 0 && len(r.dirty) == 0
			r.mu.Unlock()
			if idle {
				return errIdle
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.fail:
			if err == nil {
				err = errUnsubscribed
			}
			return err
		case <-s.moved:
			return errUnsubscribed
		case <-r.kick:
		}
	}
}

// flush sends SSUBSCRIBE and SUNSUBSCRIBE for the channels changed since the
// last flush, then confirms the generation it saw.
func (r *roomSubscriber) flush(ctx context.Context, s *roomSession) error {
	r.mu.Lock()
	dirty, g := r.dirty, r.gen
	r.dirty = make(map[string]struct{})
	var sub, unsub []string
	for ch := range dirty {
		_, want := r.want[ch]
		_, have := s.subscribed[ch]
		switch {
		case want && !have:
			sub = append(sub, ch)
		case !want && have:
			unsub = append(unsub, ch)
		}
	}
	r.mu.Unlock()
	if err := s.send(ctx, unsub, false); err != nil {
		return err
	}
	if err := s.send(ctx, sub, true); err != nil {
		return err
	}
	r.confirmed(g, false)
	return nil
}

// roomPipeline is the number of SSUBSCRIBE or SUNSUBSCRIBE commands sent
// together on one connection (each of at most roomSubBatch channels).
const roomPipeline = 64

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// roomSession is one run of the room subscriber's connections: the one
// dedicated connection to a standalone Redis, or in a Redis Cluster one per
// master that owns wanted channels, opened when first needed, with the slot
// map read when the session began. The session ends at the first failure:
// the next one starts from the cluster's slots as they are then.
type roomSession struct {
	r *roomSubscriber
	// cluster: owner[slot] is 1 + the index in addrs of the master that
	// serves the slot (0: none); nodes are rueidis' clients by address
	owner []uint8
	addrs []string
	nodes map[string]rueidis.Client

	links      map[string]*roomLink // by master address ("" standalone)
	subscribed map[string]struct{}  // channels Redis confirmed in this session
	peak       int                  // len(subscribed) when it was last allocated

	fail  chan error    // capacity 1: a connection failed
	moved chan struct{} // capacity 1: Redis unsubscribed a wanted channel
	wg    sync.WaitGroup
}

// roomLink is one dedicated connection of a session.
type roomLink struct {
	dc      rueidis.DedicatedClient
	release func()
}

func (r *roomSubscriber) newSession(ctx context.Context) (*roomSession, error) {
	s := &roomSession{r: r, links: make(map[string]*roomLink), subscribed: make(map[string]struct{}),
		fail: make(chan error, 1), moved: make(chan struct{}, 1)}
	if r.a.c.cluster {
		if err := s.readSlots(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// readSlots reads CLUSTER SLOTS from the first master that answers.
func (s *roomSession) readSlots(ctx context.Context) error {
	s.nodes = s.r.a.c.rc.Nodes()
	var firstErr error
	for addr, n := range s.nodes {
		tctx, cancel := context.WithTimeout(ctx, s.r.a.opts.RequestsTimeout)
		ranges, err := n.Do(tctx, n.B().ClusterSlots().Build()).ToArray()
		cancel()
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		s.owner = make([]uint8, clusterSlots)
		s.addrs = s.addrs[:0]
		index := make(map[string]uint8)
		for _, rg := range ranges {
			v, err := rg.ToArray()
			if err != nil || len(v) < 3 {
				continue
			}
			lo, err1 := v[0].AsInt64()
			hi, err2 := v[1].AsInt64()
			m, err3 := v[2].ToArray()
			if err1 != nil || err2 != nil || err3 != nil || len(m) < 2 {
				continue
			}
			host, _ := m[0].ToString()
			port, err := m[1].AsInt64()
			if err != nil || host == "?" {
				continue
			}
			if host == "" { // the node does not know its address: the one we used
				host, _, _ = net.SplitHostPort(addr)
			}
			a := net.JoinHostPort(host, strconv.FormatInt(port, 10))
			i, ok := index[a]
			if !ok {
				if len(s.addrs) == 255 {
					continue
				}
				s.addrs = append(s.addrs, a)
				i = uint8(len(s.addrs))
				index[a] = i
			}
			for slot := max(lo, 0); slot <= min(hi, clusterSlots-1); slot++ {
				s.owner[slot] = i
			}
		}
		return nil
	}
	if firstErr == nil {
		firstErr = errors.New("no redis node known")
	}
	return fmt.Errorf("redis: cluster slots: %w", firstErr)
}

// link returns the connection to the master at addr ("" standalone),
// opening it on first use.
func (s *roomSession) link(addr string) (*roomLink, error) {
	if l := s.links[addr]; l != nil {
		return l, nil
	}
	var client rueidis.Client = s.r.a.c.rc
	if s.owner != nil {
		client = s.nodes[addr]
		if client == nil {
			return nil, fmt.Errorf("redis: cluster master %s not known to the client yet", addr)
		}
	}
	dc, release := client.Dedicate()
	hooks := rueidis.PubSubHooks{OnMessage: s.r.a.enqueue}
	if s.owner != nil {
		// In a Cluster, Redis unsubscribes the channels of a slot that
		// moves: resubscribe them on the new owner.
		hooks.OnSubscription = func(p rueidis.PubSubSubscription) {
			if p.Kind == "sunsubscribe" && s.r.serverDropped(p.Channel) {
				select {
				case s.moved <- struct{}{}:
				default:
				}
			}
		}
	}
	errs := dc.SetPubSubHooks(hooks)
	l := &roomLink{dc: dc, release: release}
	s.links[addr] = l
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// errs holds at most one error and is closed when the hooks stop
		// (at the latest when close closes the connection).
		if err := <-errs; err != nil {
			select {
			case s.fail <- err:
			default:
			}
		}
		for range errs {
		}
	}()
	return l, nil
}

// send subscribes (on) or unsubscribes chs: grouped by master and, in a
// Cluster, by slot (the channels of one command must share a slot there),
// at most roomSubBatch channels a command and roomPipeline commands sent
// together, each group bounded by RequestsTimeout.
func (s *roomSession) send(ctx context.Context, chs []string, on bool) error {
	if len(chs) == 0 {
		return nil
	}
	type group struct {
		addr string
		slot uint16
	}
	groups := make(map[group][]string)
	for _, ch := range chs {
		var g group
		if s.owner != nil {
			g.slot = clusterSlot(ch)
			i := s.owner[g.slot]
			if i == 0 {
				return fmt.Errorf("redis: no cluster master serves the slot of %s", ch)
			}
			g.addr = s.addrs[i-1]
		}
		groups[g] = append(groups[g], ch)
	}
	cmds := make(map[string][]rueidis.Completed)
	for g, list := range groups {
		l, err := s.link(g.addr)
		if err != nil {
			// A master rueidis does not know yet: a command on the slot
			// sent through the cluster client gets MOVED, which makes
			// rueidis read the cluster's slots again before the next try.
			rc := s.r.a.c.rc
			tctx, cancel := context.WithTimeout(ctx, s.r.a.opts.RequestsTimeout)
			rc.Do(tctx, rc.B().Exists().Key(list[0]).Build())
			cancel()
			return err
		}
		for len(list) > 0 {
			n := min(len(list), roomSubBatch)
			if on {
				cmds[g.addr] = append(cmds[g.addr], l.dc.B().Ssubscribe().Channel(list[:n]...).Build())
			} else {
				cmds[g.addr] = append(cmds[g.addr], l.dc.B().Sunsubscribe().Channel(list[:n]...).Build())
			}
			list = list[n:]
		}
	}
	for addr, list := range cmds {
		dc := s.links[addr].dc
		for len(list) > 0 {
			n := min(len(list), roomPipeline)
			tctx, cancel := context.WithTimeout(ctx, s.r.a.opts.RequestsTimeout)
			res := dc.DoMulti(tctx, list[:n]...)
			cancel()
			for _, r := range res {
				if err := r.Error(); err != nil {
					return err
				}
			}
			list = list[n:]
		}
	}
	for _, ch := range chs {
		if on {
			s.subscribed[ch] = struct{}{}
		} else {
			delete(s.subscribed, ch)
		}
	}
	s.peak = max(s.peak, len(s.subscribed))
	return nil
}

// close closes the session's connections and waits for its goroutines.
func (s *roomSession) close() {
	for _, l := range s.links {
		l.dc.Close()
		l.release()
	}
	s.wg.Wait()
}

// crc16tab is the table of CRC-16/XMODEM (polynomial 0x1021), the checksum
// of Redis Cluster's key slots.
var crc16tab = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// clusterSlot is the Redis Cluster hash slot of key: the CRC16 of the key,
// or of its hash tag (what is between the first '{' and the next '}', when
// not empty), modulo 16384.
func clusterSlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ crc16tab[byte(crc>>8)^key[i]]
	}
	return crc & (clusterSlots - 1)
}
