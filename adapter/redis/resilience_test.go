package redis

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// downtime is how long Redis stays down in TestRedisRestart: long enough for
// rueidis' reconnection backoff to grow.
var downtime = 3 * time.Second

// Redis restarted during traffic: each server keeps serving its local sockets,
// cross-node delivery resumes once Redis is back, nothing leaks.
func TestRedisRestart(t *testing.T) {
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			srv := testutil.StartRedis(t)
			base := runtime.NumGoroutine() // the redis-server waiter included
			func() {
				key := "rs" + strconv.FormatInt(keySeq.Add(1), 10)
				o := Options{Mode: mc.mode, Key: key, RequestsTimeout: 500 * time.Millisecond}
				c1 := newTestClient(t, srv.URL(), o)
				c2 := newTestClient(t, srv.URL(), o)
				defer c1.Close()
				defer c2.Close()
				n1, n2 := newNode(t, c1, "/"), newNode(t, c2, "/")
				defer n1.a.Close(context.Background())
				defer n2.a.Close(context.Background())
				a1, a2 := sid("a1"), sid("a2")
				n1.ns.connect(t, a1)
				n2.ns.connect(t, a2)
				ctx := context.Background()
				n1.a.Broadcast(ctx, ev("before"), nil)
				eventually(t, "before", func() bool { return slices.Contains(n2.ns.events(a2), "before") })

				// background traffic from both servers during the whole restart
				stop := make(chan struct{})
				trafficDone := make(chan struct{})
				go func() {
					defer close(trafficDone)
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
						}
						n1.a.Broadcast(ctx, ev("traffic"), nil)
						n2.a.Broadcast(ctx, ev("traffic"), &adapter.BroadcastOptions{Rooms: []string{a1}})
					}
				}()
				defer func() { close(stop); <-trafficDone }()

				srv.Stop()
				// Local delivery goes on; the publish error is reported.
				err := n1.a.Broadcast(ctx, ev("down"), nil)
				if err == nil || !slices.Contains(n1.ns.events(a1), "down") {
					t.Fatalf("broadcast while down: err %v, local events %v", err, n1.ns.events(a1))
				}
				if _, err := n1.a.FetchSockets(ctx, nil); err == nil {
					t.Fatal("FetchSockets while Redis is down: no error")
				}
				time.Sleep(downtime)

				srv.Start()
				back := time.Now()
				var resumed time.Duration
				for i := 0; ; i++ {
					n1.a.Broadcast(ctx, ev("after"+strconv.Itoa(i)), nil)
					if evs := n2.ns.events(a2); slices.ContainsFunc(evs, func(e string) bool { return strings.HasPrefix(e, "after") }) {
						resumed = time.Since(back)
						break
					}
					if time.Since(back) > 10*time.Second {
						t.Fatal("cross-node delivery never resumed")
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("%s: cross-node delivery resumed %v after Redis was back", mc.name, resumed)
				// the request subscriptions come back too, and requests work again
				eventually(t, "server count 2", func() bool { n, err := n1.a.ServerCount(ctx); return err == nil && n == 2 })
				// (a request racing the resubscription of a response channel may time out:
				// pub/sub is at most once)
				eventually(t, "requests answered", func() bool {
					answers, err := n1.a.ServerSideEmitWithAck(ctx, []any{"q"})
					return err == nil && len(answers) == 1
				})
			}()
			testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
		})
	}
}

// Redis unreachable at start: Dial fails with a clear error.
func TestDialUnreachable(t *testing.T) {
	port := testutil.FreePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Dial(ctx, "redis://127.0.0.1:"+strconv.Itoa(port), nil)
	if err == nil || !strings.Contains(err.Error(), "redis: connect to redis://127.0.0.1:") {
		t.Fatalf("Dial: %v", err)
	}
	_, err = DialEmitter(ctx, "redis://127.0.0.1:"+strconv.Itoa(port), nil)
	if err == nil {
		t.Fatal("DialEmitter: no error")
	}
	if _, err := Dial(ctx, "redis://127.0.0.1:1", &Options{UID: "emitter"}); err == nil {
		t.Fatal(`uid "emitter" accepted`)
	}
}

// The subscriber never blocks rueidis' read loop: over the queue size, messages
// are dropped and counted.
func TestQueueFullDrops(t *testing.T) {
	srv := testutil.StartRedis(t)
	key := "q" + strconv.FormatInt(keySeq.Add(1), 10)
	c1 := newTestClient(t, srv.URL(), Options{Key: key, QueueSize: 1})
	c2 := newTestClient(t, srv.URL(), Options{Key: key})
	block := make(chan struct{})
	ns := newTestNS("/")
	a, err := c1.NewAdapter(&blockingNS{testNS: ns, block: block})
	if err != nil {
		t.Fatal(err)
	}
	ns.a = a
	defer a.Close(context.Background())
	ns.connect(t, sid("a"))
	n2 := newNode(t, c2, "/")
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		n2.a.Broadcast(ctx, ev("x"), nil)
	}
	eventually(t, "drops counted", func() bool {
		s := c1.Stats()
		return s.Received >= 50 && s.Dropped >= 40
	})
	close(block)
	eventually(t, "the kept ones delivered", func() bool { return len(ns.events(sid("a"))) >= 1 })
	if got := len(ns.events(sid("a"))); got > 10 {
		t.Fatalf("%d delivered with a queue of 1", got)
	}
}

// blockingNS blocks deliveries until block is closed.
type blockingNS struct {
	*testNS
	block chan struct{}
}

func (b *blockingNS) Deliver(id string, msgs []parser.Message, f *adapter.Flags) bool {
	<-b.block
	return b.testNS.Deliver(id, msgs, f)
}

// A namespace that closes its adapter from inside a callback (socketio does
// when the last socket of a child namespace leaves with
// CleanupEmptyChildNamespaces) must not deadlock the adapter's goroutine.
func TestCloseFromCallback(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			o := Options{Mode: mc.mode, Key: "cb" + strconv.FormatInt(keySeq.Add(1), 10)}
			c1, c2 := newTestClient(t, srv.URL(), o), newTestClient(t, srv.URL(), o)
			n1 := newNode(t, c1, "/")
			ns2 := &closingNS{testNS: newTestNS("/"), closed: make(chan error, 1)}
			a2, err := c2.NewAdapter(ns2)
			if err != nil {
				t.Fatal(err)
			}
			ns2.a = a2
			ns2.connect(t, sid("a"))
			ctx := context.Background()
			eventually(t, "two servers", func() bool { n, _ := n1.a.ServerCount(ctx); return n == 2 })
			n1.a.DisconnectSockets(ctx, nil, false)
			select {
			case err := <-ns2.closed:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close from a callback did not return")
			}
			if err := a2.Broadcast(ctx, ev("x"), nil); !errors.Is(err, adapter.ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
		})
	}
}

// closingNS closes its adapter when its last socket is disconnected.
type closingNS struct {
	*testNS
	closed chan error
}

func (c *closingNS) Disconnect(id string, close bool) {
	c.testNS.Disconnect(id, close)
	c.closed <- c.a.Close(context.Background())
}
