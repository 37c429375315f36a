package conformance

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// Connection state recovery through repeated transport drops, as npm
// socket.io 4.8 gives it: an npm socket.io-client in "room-a" gets a counter
// broadcast to that room every 3 ms while its transport is dropped five times
// (engine.close(), reconnection delays from 0 to 250 ms), over polling and over
// WebSocket, on one node and across two Go nodes of a Redis stream
// (conformance/node/csr_drops_client.js). Every drop must be recovered with
// the rooms kept, and every tick must arrive once, in order.

// startDropsNode starts a Go server with recovery for csr_drops_client.js:
// "report" answers the socket's id, rooms and Recovered flag, "tick-start" and
// "tick-stop" start and stop the counter to "room-a" (the stop answers its
// last value), "room-ping" broadcasts one "room-ping" to "room-a".
func startDropsNode(t *testing.T, factory adapter.Factory) string {
	t.Helper()
	srv := socketio.NewServer(&socketio.ServerOptions{
		Adapter:                 factory,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 30 * time.Second},
	})
	var tick struct {
		sync.Mutex
		stop chan struct{}
		done chan int
	}
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room-a")
		}
		s.On("report", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			rooms := s.Rooms()
			slices.Sort(rooms)
			ack(map[string]any{"rooms": rooms, "recovered": s.Recovered(), "id": s.ID()})
		})
		s.On("tick-start", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var tag string
			args.Decode(0, &tag)
			stop, done := make(chan struct{}), make(chan int, 1)
			tick.Lock()
			tick.stop, tick.done = stop, done
			tick.Unlock()
			nsp := s.Namespace()
			go func() {
				tk := time.NewTicker(3 * time.Millisecond)
				defer tk.Stop()
				// Bounded: 60 s of ticks at most.
				for n := 0; n < 20000; {
					select {
					case <-stop:
						done <- n
						return
					case <-tk.C:
						n++
						nsp.To("room-a").Emit("tick", tag, n)
					}
				}
				<-stop
				done <- 20000
			}()
			ack()
		})
		s.On("tick-stop", func(_ *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			tick.Lock()
			stop, done := tick.stop, tick.done
			tick.stop = nil
			tick.Unlock()
			if stop == nil {
				ack(0)
				return
			}
			close(stop)
			ack(<-done)
		})
		s.On("room-ping", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			s.Namespace().To("room-a").Emit("room-ping", "to-room-a")
			ack()
		})
	})
	t.Cleanup(func() {
		tick.Lock()
		if tick.stop != nil {
			close(tick.stop)
			<-tick.done
			tick.stop = nil
		}
		tick.Unlock()
	})
	return testutil.Serve(t, srv, srv.Shutdown).URL
}

// runDropsClient runs csr_drops_client.js and checks every step passed.
func runDropsClient(t *testing.T, transport string, urls ...string) {
	t.Helper()
	const drops = 5
	args := append([]string{transport, strconv.Itoa(drops)}, urls...)
	client := testutil.StartNode(t, "conformance/node/csr_drops_client.js", args...)
	client.WaitLine(t, "done", 90*time.Second)
	lines := client.Lines()
	for _, l := range lines {
		if strings.HasPrefix(l, "fail ") {
			t.Errorf("node client: %s", l)
		}
	}
	steps := []string{"connect", "ticks", "room-after"}
	for i := 1; i <= drops; i++ {
		steps = append(steps, "drop-"+strconv.Itoa(i))
	}
	for _, s := range steps {
		if !contains(lines, "ok "+s) {
			t.Errorf("step %s did not pass", s)
		}
	}
}

func TestCSRDropsNpmClient(t *testing.T) {
	testutil.NodeModules(t)
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			runDropsClient(t, transport, startDropsNode(t, nil))
		})
	}
	// The reference passes the same scenario (conformance/node/csr_drops_server.js).
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/csr_drops_server.js", strconv.Itoa(port))
	node.WaitLine(t, "listening", 20*time.Second)
	for _, transport := range []string{"polling", "websocket"} {
		t.Run("npm-server/"+transport, func(t *testing.T) {
			runDropsClient(t, transport, "http://127.0.0.1:"+strconv.Itoa(port))
		})
	}
}

func TestCSRDropsStreams(t *testing.T) {
	testutil.NodeModules(t)
	rds := testutil.StartRedis(t)
	for i, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			name := "csr-drops-" + strconv.Itoa(i)
			urls := make([]string, 2)
			for j := range urls {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				st, err := redis.DialStreams(ctx, rds.URL(), &redis.StreamsOptions{StreamName: name, ChannelPrefix: name,
					SessionKeyPrefix: name + ":session:", Recovery: true, MaxDisconnectionDuration: 30 * time.Second})
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				urls[j] = startDropsNode(t, st.NewAdapter)
			}
			runDropsClient(t, transport, urls...)
		})
	}
}
