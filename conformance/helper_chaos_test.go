//go:build unix

package conformance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// TestHelperRedisChaos: two helper nodes share a Redis in each mode (classic,
// sharded, streams; the modes run side by side, each on its own redis-server).
// User alice has a client on each node. Redis is frozen (SIGSTOP, 10 s), then
// killed (3 s; 10 s with CORVID_LONG=1) and restarted. The helpers keep the
// default PublishTimeout (1 s). During each outage node A sends 100 messages
// to alice (Send and Broadcast, each from a goroutine of its own, as
// concurrent handlers would) and alice's client on A asks a handler of A to
// send 5 more. What must hold, per mode and outage:
//
//   - local delivery is complete: A's client gets all 105, each within
//     localFirst of its send (local delivery comes before the publication);
//   - no send, and no handler, waits on Redis longer than PublishTimeout (with
//     a margin);
//   - every send says what happened: *adapter.PublishError,
//     errors.Is(err, adapter.ErrNotPublished);
//   - nobody gets a message twice;
//   - once Redis is back, delivery across nodes resumes within 2 s, both ways;
//
// and, at the end, the process runs no more goroutines than before the
// outages.
func TestHelperRedisChaos(t *testing.T) {
	const (
		publish    = helper.DefaultPublishTimeout // the helpers' PublishTimeout (left at 0)
		localFirst = 400 * time.Millisecond
		resumeIn   = 2 * time.Second
		sends      = 100
		viaHandler = 5
	)
	stall, kill := 10*time.Second, 3*time.Second
	if relLong() {
		kill = 10 * time.Second
	}
	modes := []string{"classic", "sharded", "streams"}
	envs := make([]*chaosEnv, len(modes))
	for i, mode := range modes {
		envs[i] = newChaosEnv(t, mode)
	}
	for _, e := range envs {
		e.warmUp(t)
	}
	base := runtime.NumGoroutine()

	var wg sync.WaitGroup
	for _, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, o := range []chaosOutage{{"stall", stall, 1000}, {"kill", kill, 2000}} {
				r := e.outage(o, sends, viaHandler, publish)
				r.check(t, e.mode, o.name, sends+viaHandler, publish, localFirst, resumeIn)
			}
		}()
	}
	wg.Wait()
	testutil.CheckNoNewGoroutines(t, base, 10*time.Second)
}

type chaosOutage struct {
	name  string
	d     time.Duration
	first int // number of the outage's first message
}

// chaosRecv records the numbered messages a client got.
type chaosRecv struct {
	mu   sync.Mutex
	at   map[int]time.Time
	dups int
}

func (r *chaosRecv) add(n int) {
	r.mu.Lock()
	if _, dup := r.at[n]; dup {
		r.dups++
	} else {
		r.at[n] = time.Now()
	}
	r.mu.Unlock()
}

func (r *chaosRecv) get(n int) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.at[n]
	return at, ok
}

type chaosEnv struct {
	mode   string
	rs     *testutil.RedisServer
	a, b   *helper.ServerHelper
	ca, cb *helper.ClientHelper // alice on A, alice on B
	ra, rb *chaosRecv
	probe  int
}

func newChaosEnv(t *testing.T, mode string) *chaosEnv {
	e := &chaosEnv{mode: mode, rs: testutil.StartRedis(t), probe: 10000,
		ra: &chaosRecv{at: map[int]time.Time{}}, rb: &chaosRecv{at: map[int]time.Time{}}}
	node := func() (*helper.ServerHelper, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var cl helper.Cluster
		if mode == "streams" {
			st, err := redis.DialStreams(ctx, e.rs.URL(), &redis.StreamsOptions{RequestsTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			cl = st
		} else {
			rc, err := redis.DialMode(ctx, e.rs.URL(), mode, &redis.Options{RequestsTimeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			cl = rc
		}
		var h *helper.ServerHelper
		h, err := helper.NewServerHelper(ctx, &helper.ServerOptions{
			Identifier: "chaos-" + mode, Cluster: cl, Logger: helperQuiet,
			SocketIO: &socketio.ServerOptions{Logger: helperQuiet},
			Authenticate: func(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
				return &helper.Identity{UserID: "alice"}, nil
			},
			ClientConnected: func(c *helper.Client) {
				// "say" n: the handler sends n to alice and answers how long it took.
				c.Socket().On("say", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
					var n int
					_ = args.Decode(0, &n)
					start := time.Now()
					err := h.Send(s.Context(), helper.ToUser("alice"), "n", n)
					if ack != nil {
						_ = ack(time.Since(start).Milliseconds(), errors.Is(err, adapter.ErrNotPublished))
					}
				})
			},
		})
		if err != nil {
			cl.Close()
			t.Fatal(err)
		}
		hs := testutil.Serve(t, h, h.Shutdown)
		return h, hs.URL
	}
	var urlA, urlB string
	e.a, urlA = node()
	e.b, urlB = node()
	client := func(url string, r *chaosRecv) *helper.ClientHelper {
		c, err := helper.NewClientHelper(&helper.ClientOptions{Host: url, Logger: helperQuiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		helper.Subscribe(c, "n", r.add)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Authenticate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	e.ca, e.cb = client(urlA, e.ra), client(urlB, e.rb)
	return e
}

// warmUp waits until each node reaches the other's client.
func (e *chaosEnv) warmUp(t *testing.T) {
	if d := e.resume(time.Now(), 10*time.Second); d.a2b < 0 || d.b2a < 0 {
		t.Fatalf("%s: the nodes do not reach each other before the outages", e.mode)
	}
}

type chaosResume struct{ a2b, b2a time.Duration } // -1: not within the wait

// resume sends a probe from each node to alice every 50 ms until each node's
// probes reach the other node's client, and returns how long after since
// that took (-1 when not within wait).
func (e *chaosEnv) resume(since time.Time, wait time.Duration) chaosResume {
	res := chaosResume{-1, -1}
	deadline := time.Now().Add(wait)
	type probe struct {
		n  int
		at time.Time
	}
	var fromA, fromB []probe
	for time.Now().Before(deadline) && (res.a2b < 0 || res.b2a < 0) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		e.probe++
		fromA = append(fromA, probe{e.probe, time.Now()})
		_ = e.a.Send(ctx, helper.ToUser("alice"), "n", e.probe)
		e.probe++
		fromB = append(fromB, probe{e.probe, time.Now()})
		_ = e.b.Send(ctx, helper.ToUser("alice"), "n", e.probe)
		cancel()
		time.Sleep(50 * time.Millisecond)
		for _, p := range fromA {
			if at, ok := e.rb.get(p.n); ok && res.a2b < 0 && !p.at.Before(since) {
				res.a2b = at.Sub(since)
			}
		}
		for _, p := range fromB {
			if at, ok := e.ra.get(p.n); ok && res.b2a < 0 && !p.at.Before(since) {
				res.b2a = at.Sub(since)
			}
		}
	}
	return res
}

type chaosSend struct {
	start, end time.Time
	err        error
}

type chaosResult struct {
	sends      []chaosSend // by number - first
	handler    []time.Duration
	handlerErr []error
	handlerNP  []bool // the handler's Send said "not published"
	missing    []int  // numbers A's client did not get
	lateLocal  time.Duration
	dups       int
	back       chaosResume
}

// outage runs one outage: Redis stalled or killed for o.d, n sends from
// goroutines and h sends from A's handler, then Redis back and the probes.
func (e *chaosEnv) outage(o chaosOutage, n, h int, publish time.Duration) *chaosResult {
	r := &chaosResult{sends: make([]chaosSend, n)}
	var resume func()
	switch o.name {
	case "stall":
		resume = e.rs.Stall()
	case "kill":
		e.rs.Stop()
		resume = e.rs.Start
	}
	began := time.Now()
	var wg sync.WaitGroup
	every := (o.d - publish - 500*time.Millisecond) / time.Duration(n)
	wg.Add(1)
	go func() { // one connection's handler: one call after the other
		defer wg.Done()
		for i := 0; i < h; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), publish+3*time.Second)
			start := time.Now()
			args, err := e.ca.EmitWithAck(ctx, "say", o.first+n+i)
			cancel()
			r.handler = append(r.handler, time.Since(start))
			r.handlerErr = append(r.handlerErr, err)
			np := false
			if err == nil {
				_ = args.Decode(1, &np)
			}
			r.handlerNP = append(r.handlerNP, np)
		}
	}()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &r.sends[i]
			s.start = time.Now()
			if i%2 == 0 {
				s.err = e.a.Send(context.Background(), helper.ToUser("alice"), "n", o.first+i)
			} else {
				s.err = e.a.Broadcast(context.Background(), "n", o.first+i)
			}
			s.end = time.Now()
		}()
		time.Sleep(every)
	}
	wg.Wait()
	if rest := o.d - time.Since(began); rest > 0 {
		time.Sleep(rest)
	}
	resume()
	back := time.Now()
	// Local delivery is checked after the outage: give it a second to land.
	deadline := time.Now().Add(time.Second)
	for {
		r.missing = r.missing[:0]
		for i := 0; i < n+h; i++ {
			if _, ok := e.ra.get(o.first + i); !ok {
				r.missing = append(r.missing, o.first+i)
			}
		}
		if len(r.missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range r.sends {
		if at, ok := e.ra.get(o.first + i); ok {
			r.lateLocal = max(r.lateLocal, at.Sub(r.sends[i].start))
		}
	}
	r.back = e.resume(back, 10*time.Second)
	e.ra.mu.Lock()
	e.rb.mu.Lock()
	r.dups = e.ra.dups + e.rb.dups
	e.rb.mu.Unlock()
	e.ra.mu.Unlock()
	return r
}

func (r *chaosResult) check(t *testing.T, mode, outage string, want int, publish, localFirst, resumeIn time.Duration) {
	name := mode + "/" + outage
	var longest, longestSend time.Duration
	notPublished, ok, other := 0, 0, []string{}
	for _, s := range r.sends {
		longestSend = max(longestSend, s.end.Sub(s.start))
		switch {
		case s.err == nil:
			ok++
		case errors.Is(s.err, adapter.ErrNotPublished):
			notPublished++
		default:
			if len(other) < 3 {
				other = append(other, s.err.Error())
			}
		}
	}
	handlerNP, longestHandler := 0, time.Duration(0)
	for i, d := range r.handler {
		longestHandler = max(longestHandler, d)
		if r.handlerErr[i] != nil {
			t.Errorf("%s: the handler's send %d: no answer: %v", name, i, r.handlerErr[i])
		}
		if r.handlerNP[i] {
			handlerNP++
		}
	}
	longest = max(longestSend, longestHandler)
	t.Logf("%s: local %d/%d (latest %v after its send), longest send %v (handler's: %v), errors: %d not published, %d nil, %d other %q; handler sends not published %d/%d; delivery across back after %v (A to B) and %v (B to A); duplicates %d",
		name, want-len(r.missing), want, r.lateLocal.Round(time.Millisecond), longestSend.Round(time.Millisecond), longestHandler.Round(time.Millisecond),
		notPublished, ok, len(r.sends)-notPublished-ok, other, handlerNP, len(r.handler),
		r.back.a2b.Round(time.Millisecond), r.back.b2a.Round(time.Millisecond), r.dups)
	if len(r.missing) > 0 {
		t.Errorf("%s: local delivery incomplete: %d of %d missing (%v)", name, len(r.missing), want, head(r.missing))
	}
	if longest > publish+time.Second {
		t.Errorf("%s: a send waited %v on Redis (PublishTimeout %v)", name, longest, publish)
	}
	if r.lateLocal > localFirst {
		t.Errorf("%s: a local delivery came %v after its send (want within %v: local delivery before the publication)", name, r.lateLocal, localFirst)
	}
	if notPublished != len(r.sends) || handlerNP != len(r.handler) {
		t.Errorf("%s: %d of %d sends and %d of %d handler sends returned an error with adapter.ErrNotPublished during the outage (others: %d nil, %q)",
			name, notPublished, len(r.sends), handlerNP, len(r.handler), ok, other)
	}
	if r.dups > 0 {
		t.Errorf("%s: %d messages delivered twice", name, r.dups)
	}
	if r.back.a2b < 0 || r.back.a2b > resumeIn || r.back.b2a < 0 || r.back.b2a > resumeIn {
		t.Errorf("%s: delivery across nodes back after %v (A to B) and %v (B to A), want within %v (-1: not within 10 s)",
			name, r.back.a2b, r.back.b2a, resumeIn)
	}
}

func head(ns []int) string {
	if len(ns) > 5 {
		return fmt.Sprint(slices.Clone(ns[:5])) + "..."
	}
	return fmt.Sprint(ns)
}
