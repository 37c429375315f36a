package redis

import (
	"bytes"
	"context"
	"errors"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
)

// eventLog records the Events of a Client or Streams.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) count(k EventKind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// chaosCase makes two servers' adapters of namespace "/" on one Redis in one
// mode, each with its event log.
type chaosCase struct {
	name string
	make func(t *testing.T, url string, pub time.Duration, logs [2]*eventLog) [2]adapter.Factory
}

var chaosCases = []chaosCase{
	{"classic", clientFactories(Classic, Dynamic)},
	{"sharded-dynamic", clientFactories(Sharded, Dynamic)},
	{"streams", func(t *testing.T, url string, pub time.Duration, logs [2]*eventLog) [2]adapter.Factory {
		name := streamsName()
		var fs [2]adapter.Factory
		for i := range fs {
			fs[i] = newTestStreams(t, url, name, StreamsOptions{PublishTimeout: pub, RequestsTimeout: time.Second,
				BlockTime: 500 * time.Millisecond, OnEvent: logs[i].add}).NewAdapter
		}
		return fs
	}},
}

func clientFactories(mode Mode, sub SubscriptionMode) func(*testing.T, string, time.Duration, [2]*eventLog) [2]adapter.Factory {
	return func(t *testing.T, url string, pub time.Duration, logs [2]*eventLog) [2]adapter.Factory {
		key := "chaos" + strconv.FormatInt(keySeq.Add(1), 10)
		var fs [2]adapter.Factory
		for i := range fs {
			fs[i] = newTestClient(t, url, Options{Mode: mode, SubscriptionMode: sub, Key: key, PublishTimeout: pub,
				RequestsTimeout: time.Second, OnEvent: logs[i].add}).NewAdapter
		}
		return fs
	}
}

// labelled counts the goroutines labelled chaos=name (pprof labels pass from
// a goroutine to those it starts), so that parallel subtests count their own.
func labelled(name string) int {
	var b bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	want := `"chaos":"` + name + `"`
	n, last := 0, 0
	for _, line := range strings.Split(b.String(), "\n") {
		if c, _, ok := strings.Cut(line, " @ "); ok {
			last, _ = strconv.Atoi(c)
			continue
		}
		if strings.HasPrefix(line, "# labels:") && strings.Contains(line, want) {
			n += last
		}
	}
	return n
}

// redisPID returns the process id of the redis-server srv.
func redisPID(t *testing.T, srv *testutil.RedisServer) int {
	t.Helper()
	out, err := srv.Command("INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no process_id in INFO server: %q", out)
	return 0
}

// TestChaosRedisStalledAndKilled: Redis stopped (SIGSTOP) for 10 s, then
// killed and restarted, while two servers broadcast. In every mode each
// server delivers every broadcast to its own socket at once; no call waits
// for Redis longer than PublishTimeout; the error is an *adapter.PublishError;
// the lost subscriptions are reported; cross-server delivery is back within
// 2 s of Redis being back; the goroutines return to their count before.
func TestChaosRedisStalledAndKilled(t *testing.T) {
	const pub = 300 * time.Millisecond
	stall := 10 * time.Second
	if testing.Short() {
		stall = 3 * time.Second
	}
	for _, cc := range chaosCases {
		t.Run(cc.name, func(t *testing.T) {
			t.Parallel()
			pprof.Do(context.Background(), pprof.Labels("chaos", cc.name), func(context.Context) { runChaos(t, cc, pub, stall) })
		})
	}
}

func runChaos(t *testing.T, cc chaosCase, pub, stall time.Duration) {
	srv := testutil.StartRedis(t)
	logs := [2]*eventLog{{}, {}}
	fs := cc.make(t, srv.URL(), pub, logs)
	var ns [2]*testNS
	ids := [2]string{sid("local1"), sid("local2")}
	for i := range ns {
		ns[i] = newTestNS("/")
		a, err := fs[i](ns[i])
		if err != nil {
			t.Fatal(err)
		}
		ns[i].a = a
		t.Cleanup(func() { a.Close(context.Background()) })
		ns[i].connect(t, ids[i], "room")
	}
	ctx := context.Background()
	seq := 0
	// send broadcasts from server i, checking the local delivery
	// and the error; it returns the event names sent.
	send := func(i int, opts *adapter.BroadcastOptions) string {
		t.Helper()
		seq++
		name := cc.name + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(seq)
		start := time.Now()
		err := ns[i].a.Broadcast(ctx, ev(name), opts)
		if d := time.Since(start); d > pub+500*time.Millisecond {
			t.Errorf("broadcast waited %v for Redis (PublishTimeout %v)", d, pub)
		}
		if err != nil {
			var pe *adapter.PublishError
			if !errors.As(err, &pe) || !errors.Is(err, adapter.ErrNotPublished) || pe.Op != "broadcast" {
				t.Errorf("broadcast error %T %v, want *adapter.PublishError", err, err)
			}
		}
		if !slices.Contains(ns[i].events(ids[i]), name) {
			t.Errorf("%s not delivered to the local socket (err %v)", name, err)
		}
		return name
	}
	remoteBack := func(what string, since time.Time) {
		t.Helper()
		for {
			name := send(0, roomOpts("room")) // the room's own channel in the dynamic mode
			deadline := time.Now().Add(100 * time.Millisecond)
			for time.Now().Before(deadline) {
				if slices.Contains(ns[1].events(ids[1]), name) {
					if d := time.Since(since); d > 2*time.Second {
						t.Errorf("%s: remote delivery back %v after Redis", what, d)
					} else {
						t.Logf("%s: remote delivery back %v after Redis", what, d)
					}
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			if time.Since(since) > 10*time.Second {
				t.Fatalf("%s: remote delivery not back after 10 s", what)
			}
		}
	}
	remoteBack("start", time.Now())
	// Settled: the goroutines of two connected servers.
	time.Sleep(100 * time.Millisecond)
	base := labelled(cc.name)

	// Stalled.
	pid := redisPID(t, srv)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}()
	failed := 0
	for start := time.Now(); time.Since(start) < stall; {
		for i := range ns {
			send(i, nil)
		}
		// the other operations: local at once, bounded, typed error
		t0 := time.Now()
		err := ns[0].a.AddSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{ids[0]}}, []string{"stall"})
		if d := time.Since(t0); d > pub+500*time.Millisecond {
			t.Errorf("AddSockets waited %v", d)
		}
		if err != nil && !errors.Is(err, adapter.ErrNotPublished) {
			t.Errorf("AddSockets error %v", err)
		}
		if err != nil {
			failed++
		}
		if !slices.Contains(ns[0].a.SocketRooms(ids[0]), "stall") {
			t.Error("AddSockets not applied locally")
		}
		ns[0].a.DelSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{ids[0]}}, []string{"stall"})
		if err := ns[1].a.ServerSideEmit(ctx, []any{"x"}); err != nil && !errors.Is(err, adapter.ErrNotPublished) {
			t.Errorf("ServerSideEmit error %v", err)
		}
	}
	if failed == 0 {
		t.Error("no operation reported a failed publication while Redis was stopped")
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	remoteBack("stall", time.Now())
	if logs[0].count(EventPublishFailed) == 0 {
		t.Error("no EventPublishFailed")
	}

	// Killed, then restarted on the same port.
	srv.Stop()
	for start := time.Now(); time.Since(start) < 2*time.Second; {
		for i := range ns {
			send(i, nil)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Start()
	remoteBack("restart", time.Now())
	for i, l := range logs {
		// every subscription lost is reported once, and again when it is back
		eventually(t, "server "+strconv.Itoa(i)+" resubscribed", func() bool {
			d := l.count(EventSubscriberDropped)
			return d > 0 && l.count(EventResubscribed) == d
		}, func() string {
			return strconv.Itoa(l.count(EventSubscriberDropped)) + " dropped, " + strconv.Itoa(l.count(EventResubscribed)) + " resubscribed"
		})
	}
	eventually(t, "goroutines back to "+strconv.Itoa(base), func() bool { return labelled(cc.name) <= base },
		func() string { return strconv.Itoa(labelled(cc.name)) + " goroutines" })
}
