package redis

import (
	"context"
	"errors"
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
// modes, standalone Redis) subscribed on one dedicated connection: one
// goroutine sends SSUBSCRIBE and SUNSUBSCRIBE in batches of what changed, the
// messages reach the namespace's queue from rueidis' read loop. Joining or
// leaving a room costs a map update; the maps are rebuilt smaller when the
// rooms empty, so their memory is released.
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

// errIdle ends serve when no room channel is wanted any more: the dedicated
// connection is given back until one is.
var errIdle = errors.New("redis: no room channel wanted")

// run keeps a dedicated connection subscribed to the wanted channels until
// ctx ends, reconnecting (50 ms backoff doubling to 500 ms) and reporting the
// losses and resubscriptions. While no channel is wanted it holds no
// connection.
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
		dc, release := r.a.c.rc.Dedicate()
		errs := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: r.a.enqueue})
		// a fresh connection: everything wanted is to be subscribed
		r.mu.Lock()
		for ch := range r.want {
			r.dirty[ch] = struct{}{}
		}
		r.mu.Unlock()
		start := time.Now()
		err := r.serve(ctx, dc, errs, &lost)
		// closed, not pooled: its subscriptions and goroutines end with it
		dc.Close()
		release()
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

// serve sends the changes as they come, until the connection fails, no
// channel is wanted any more (errIdle) or ctx ends.
func (r *roomSubscriber) serve(ctx context.Context, dc rueidis.DedicatedClient, errs <-chan error, lost *bool) error {
	subscribed := make(map[string]struct{})
	peak := 0
	for {
		err := r.flush(ctx, dc, subscribed)
		peak = max(peak, len(subscribed))
		subscribed = shrink(subscribed, &peak)
		if err != nil {
			return err
		}
		if *lost {
			*lost = false
			r.a.c.mon.emit(Event{Kind: EventResubscribed, Nsp: r.a.nsp, Channel: "rooms"})
		}
		if len(subscribed) == 0 {
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
		case err := <-errs:
			if err == nil {
				err = errUnsubscribed
			}
			return err
		case <-r.kick:
		}
	}
}

// flush sends SSUBSCRIBE and SUNSUBSCRIBE for the channels changed since the
// last flush, in batches (each bounded by RequestsTimeout).
func (r *roomSubscriber) flush(ctx context.Context, dc rueidis.DedicatedClient, subscribed map[string]struct{}) error {
	r.mu.Lock()
	dirty, g := r.dirty, r.gen
	r.dirty = make(map[string]struct{})
	var sub, unsub []string
	for ch := range dirty {
		_, want := r.want[ch]
		_, have := subscribed[ch]
		switch {
		case want && !have:
			sub = append(sub, ch)
		case !want && have:
			unsub = append(unsub, ch)
		}
	}
	r.mu.Unlock()
	send := func(chs []string, on bool) error {
		for len(chs) > 0 {
			n := min(len(chs), roomSubBatch)
			var cmd rueidis.Completed
			if on {
				cmd = dc.B().Ssubscribe().Channel(chs[:n]...).Build()
			} else {
				cmd = dc.B().Sunsubscribe().Channel(chs[:n]...).Build()
			}
			tctx, cancel := context.WithTimeout(ctx, r.a.opts.RequestsTimeout)
			err := dc.Do(tctx, cmd).Error()
			cancel()
			if err != nil {
				return err
			}
			for _, ch := range chs[:n] {
				if on {
					subscribed[ch] = struct{}{}
				} else {
					delete(subscribed, ch)
				}
			}
			chs = chs[n:]
		}
		return nil
	}
	if err := send(unsub, false); err != nil {
		return err
	}
	if err := send(sub, true); err != nil {
		return err
	}
	r.confirmed(g, false)
	return nil
}
