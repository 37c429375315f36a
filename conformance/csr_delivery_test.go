package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/internal/proxy"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// The delivery figure of connection state recovery: many Go clients drop their
// connection at random every few seconds while the server broadcasts "tick" at
// a fixed rate. With recovery, every client must get every tick from its first
// one to the last, once and in order (the assertion); the share delivered
// without recovery and the reconnect-and-replay latency are logged (figures,
// not assertions). CORVID_LONG=1 runs the long version (1,000 clients, 60 s).

type deliveryClient struct {
	s *socketio.ClientSocket

	mu        sync.Mutex
	seqs      []int
	attempt   time.Time       // start of the current reconnection
	latencies []time.Duration // reconnection attempt -> connect handler, replay included
	fresh     int             // connections after the first that were not recovered
	connects  int
}

func TestCSRDeliveryFigure(t *testing.T) {
	clients, dur, rate := 100, 7*time.Second, 50*time.Millisecond
	if os.Getenv("CORVID_LONG") == "1" {
		clients, dur = 1000, 60*time.Second
	}
	for _, recovery := range []bool{true, false} {
		name := "without-recovery"
		if recovery {
			name = "with-recovery"
		}
		t.Run(name, func(t *testing.T) {
			opts := &socketio.ServerOptions{}
			if recovery {
				opts.ConnectionStateRecovery = &socketio.RecoveryOptions{}
			}
			srv := socketio.NewServer(opts)
			hs := httptest.NewServer(srv)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				srv.Shutdown(ctx)
				hs.CloseClientConnections()
				hs.Close()
			}()
			emit := func(seq int) error { return srv.Of("/").Emit("tick", seq) }
			runDelivery(t, recovery, hs.URL, emit, clients, dur, rate)
		})
	}
}

// TestCSRDeliveryFigureStreams is the same figure across a cluster: two Go
// nodes on the Redis Streams adapter behind a round-robin TCP proxy, so that a
// reconnection lands on either node; node 1 broadcasts the ticks. With
// recovery every client must still get every tick once, in order.
// CORVID_LONG=1: 300 clients, 60 s.
func TestCSRDeliveryFigureStreams(t *testing.T) {
	clients, dur, rate := 60, 7*time.Second, 50*time.Millisecond
	if os.Getenv("CORVID_LONG") == "1" {
		clients, dur = 300, 60*time.Second
	}
	rds := testutil.StartRedis(t)
	var nodes []*socketio.Server
	var addrs []string
	var recoveredOn [2]atomic.Int64
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := redis.DialStreams(ctx, rds.URL(), &redis.StreamsOptions{StreamName: "delivery", ChannelPrefix: "delivery",
			SessionKeyPrefix: "delivery:session:", Recovery: true})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		srv := socketio.NewServer(&socketio.ServerOptions{Adapter: st.NewAdapter,
			ConnectionStateRecovery: &socketio.RecoveryOptions{}})
		n := &recoveredOn[i]
		srv.OnConnection(func(s *socketio.Socket) {
			if s.Recovered() {
				n.Add(1)
			}
		})
		hs := httptest.NewServer(srv)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
			hs.CloseClientConnections()
			hs.Close()
			st.Close()
		}()
		nodes = append(nodes, srv)
		addrs = append(addrs, strings.TrimPrefix(hs.URL, "http://"))
	}
	px, err := proxy.New(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	defer px.Close()
	emit := func(seq int) error { return nodes[0].Of("/").Emit("tick", seq) }
	runDelivery(t, true, "http://"+px.Addr(), emit, clients, dur, rate)
	t.Logf("recovered sessions per node: node1=%d node2=%d", recoveredOn[0].Load(), recoveredOn[1].Load())
	if recoveredOn[0].Load() == 0 || recoveredOn[1].Load() == 0 {
		t.Errorf("every recovery landed on one node (%d, %d): the cluster case was not exercised",
			recoveredOn[0].Load(), recoveredOn[1].Load())
	}
}

func runDelivery(t *testing.T, recovery bool, url string, emit func(seq int) error, nClients int, dur, rate time.Duration) {

	cs := make([]*deliveryClient, nClients)
	for i := range cs {
		c := &deliveryClient{}
		s, err := socketio.NewClientSocket(url, &socketio.ClientOptions{ManagerOptions: socketio.ManagerOptions{
			Transports: []string{"websocket"}, ReconnectionDelay: 200 * time.Millisecond,
			ReconnectionDelayMax: 200 * time.Millisecond, RandomizationFactor: -1,
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		c.s = s
		s.On("tick", func(args socketio.Args, _ socketio.AckFunc) {
			var seq int
			args.Decode(0, &seq)
			c.mu.Lock()
			c.seqs = append(c.seqs, seq)
			c.mu.Unlock()
		})
		s.Manager().OnReconnectAttempt(func(int) {
			c.mu.Lock()
			c.attempt = time.Now()
			c.mu.Unlock()
		})
		s.OnConnect(func() {
			rec := s.Recovered()
			c.mu.Lock()
			c.connects++
			if c.connects > 1 {
				if !rec {
					c.fresh++
				}
				if !c.attempt.IsZero() {
					c.latencies = append(c.latencies, time.Since(c.attempt))
				}
			}
			c.mu.Unlock()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		cs[i] = c
	}

	// Broadcaster and droppers.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var last atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(rate)
		defer tk.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			if err := emit(seq); err != nil {
				t.Errorf("tick: %v", err)
			}
			last.Store(int64(seq))
		}
	}()
	var drops atomic.Int64
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(1000+rand.IntN(3000)) * time.Millisecond):
				}
				c.s.Manager().DropConnection()
				drops.Add(1)
			}
		}()
	}
	time.Sleep(dur)
	close(stop)
	wg.Wait()

	// Everybody back, then one last tick sent live.
	deadline := time.Now().Add(30 * time.Second)
	for _, c := range cs {
		for !c.s.Connected() {
			if time.Now().After(deadline) {
				t.Fatal("a client did not reconnect")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	final := int(last.Load()) + 1
	if err := emit(final); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		for {
			c.mu.Lock()
			done := len(c.seqs) > 0 && c.seqs[len(c.seqs)-1] == final
			c.mu.Unlock()
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a client did not get the final tick")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	var got, want, fresh, reconnects int
	var lat []time.Duration
	for i, c := range cs {
		c.mu.Lock()
		seqs := slices.Clone(c.seqs)
		lat = append(lat, c.latencies...)
		fresh += c.fresh
		reconnects += c.connects - 1
		c.mu.Unlock()
		first := seqs[0]
		got += len(seqs)
		want += final - first + 1
		if recovery {
			if c.fresh > 0 {
				t.Errorf("client %d: %d reconnections were not recovered", i, c.fresh)
			}
			for j, seq := range seqs {
				if seq != first+j {
					t.Fatalf("client %d: tick %d at position %d, want %d (ticks from %d to %d must arrive once, in order)",
						i, seq, j, first+j, first, final)
				}
			}
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	share := 100 * float64(got) / float64(want)
	msg := fmt.Sprintf("recovery=%v clients=%d duration=%s rate=%s ticks=%d drops=%d reconnections=%d fresh=%d delivered=%d/%d (%.2f%%) reconnect+replay latency p50=%s p99=%s max=%s",
		recovery, nClients, dur, rate, final, drops.Load(), reconnects, fresh, got, want, share,
		pct(0.50).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), pct(1).Round(time.Millisecond))
	t.Log(msg)
	if !recovery && got > want {
		t.Errorf("more ticks than sent: %d > %d", got, want)
	}
}
