package conformance

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
	"github.com/corvid-io/corvid/socketio"
)

// Connection state recovery across a cluster on the Redis Streams adapter: an
// npm socket.io-client 4.8 socket moves between nodes of one stream (a Go node
// and a Node node with @socket.io/redis-streams-adapter 0.3, or two Go nodes)
// while both nodes broadcast to its room and to everybody; each time it is
// recovered on the other node and gets every missed event once, in stream
// order (conformance/node/csr_streams_client.js).

const csrStreamsWindow = 10 * time.Second

// startStreamsGoNode starts a Go server on the streams adapter with recovery,
// behaving as conformance/node/csr_streams_server.js.
func startStreamsGoNode(t *testing.T, redisURL, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.DialStreams(ctx, redisURL, &redis.StreamsOptions{StreamName: name, ChannelPrefix: name,
		SessionKeyPrefix: name + ":session:", Recovery: true, MaxDisconnectionDuration: csrStreamsWindow})
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.ServerOptions{
		Adapter:                 st.NewAdapter,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: csrStreamsWindow},
	})
	// "tick-start" / "tick-stop": a 5 ms "tick" broadcast to "room-a" (the stop
	// answers the last tick), as in csr_streams_server.js.
	var tick struct {
		sync.Mutex
		stop chan struct{}
		done chan int
	}
	srv.OnServerSideEmit("ping", func(_ socketio.Args, ack func(any)) {
		if ack != nil {
			ack("pong-go")
		}
	})
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room-a")
			s.SetData(map[string]any{"user": "csr"})
			s.Emit("hello", "hi")
		}
		s.On("report", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			rooms := s.Rooms()
			slices.Sort(rooms)
			if ack != nil {
				ack(map[string]any{"rooms": rooms, "data": s.Data(), "recovered": s.Recovered(), "id": s.ID()})
			}
		})
		csrStreamsOps(s)
		s.On("tick-start", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var tag string
			args.Decode(0, &tag)
			stop := make(chan struct{})
			done := make(chan int, 1)
			tick.Lock()
			tick.stop, tick.done = stop, done
			tick.Unlock()
			go func() {
				t := time.NewTicker(5 * time.Millisecond)
				defer t.Stop()
				n := 0
				for {
					select {
					case <-stop:
						done <- n
						return
					case <-s.Context().Done():
						return
					case <-t.C:
						n++
						s.Namespace().To("room-a").Emit("tick", tag, n)
					}
				}
			}()
			ack()
		})
		s.On("tick-stop", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			tick.Lock()
			stop, done := tick.stop, tick.done
			tick.Unlock()
			if stop == nil {
				ack(0)
				return
			}
			close(stop)
			ack(<-done)
		})
		s.On("gap", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var tag string
			args.Decode(0, &tag)
			nsp := s.Namespace()
			for i := 0; i < 5; i++ {
				if i%2 == 0 {
					nsp.To("room-a").Emit("gap", tag, i)
				} else {
					nsp.Emit("gap", tag, i)
				}
			}
			if ack != nil {
				ack()
			}
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.CloseClientConnections()
		hs.Close()
		st.Close()
	})
	return hs.URL
}

func startStreamsNodeNode(t *testing.T, redisURL, name string) string {
	t.Helper()
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/csr_streams_server.js", strconv.Itoa(port), redisURL, name,
		strconv.Itoa(int(csrStreamsWindow/time.Millisecond)))
	node.WaitLine(t, "listening", 20*time.Second)
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

func TestCSRStreamsCluster(t *testing.T) {
	testutil.NodeModules(t)
	rds := testutil.StartRedis(t)
	for i, tc := range []struct{ name, first, second, load string }{
		// Under load only between Go nodes: Node delivers its own broadcasts
		// before the ones its reader has not applied yet (out of stream order),
		// so a client's last offset on a Node node is not an exact cursor.
		{"go-node", "go", "node", ""},
		{"go-go", "go", "go", "to-second,to-first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "csr-streams-" + strconv.Itoa(i)
			urls := make([]string, 2)
			for j, kind := range []string{tc.first, tc.second} {
				if kind == "go" {
					urls[j] = startStreamsGoNode(t, rds.URL(), name)
				} else {
					urls[j] = startStreamsNodeNode(t, rds.URL(), name)
				}
			}
			client := testutil.StartNode(t, "conformance/node/csr_streams_client.js", urls[0], urls[1], tc.load)
			client.WaitLine(t, "done", 60*time.Second)
			lines := client.Lines()
			for _, l := range lines {
				if strings.HasPrefix(l, "fail ") {
					t.Errorf("node client: %s", l)
				}
			}
			steps := []string{"connect", "first-to-second", "second-to-first"}
			if tc.load != "" {
				steps = append(steps, "under-load-first-to-second", "under-load-second-to-first")
			} else {
				steps = append(steps, "back-to-second")
			}
			for _, s := range steps {
				if !contains(lines, "ok "+s) {
					t.Errorf("step %s did not pass", s)
				}
			}
		})
	}
}

// csrStreamsOps registers the "op-*" handlers of csr_streams_server.js: each
// runs a cluster operation from this node and acknowledges its result.
func csrStreamsOps(s *socketio.Socket) {
	nsp := s.Namespace()
	ctx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 5*time.Second)
	}
	// The operations wait for other servers: they run off the dispatcher.
	async := func(h func(args socketio.Args, ack socketio.AckFunc)) socketio.EventHandler {
		return func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) { go h(args, ack) }
	}
	s.On("op-count", async(func(_ socketio.Args, ack socketio.AckFunc) {
		c, cancel := ctx()
		defer cancel()
		n, err := nsp.Adapter().ServerCount(c)
		if err != nil {
			ack("error: " + err.Error())
			return
		}
		ack(n)
	}))
	s.On("op-fetch", async(func(_ socketio.Args, ack socketio.AckFunc) {
		c, cancel := ctx()
		defer cancel()
		all, err := nsp.FetchSockets(c)
		if err != nil {
			ack("error: " + err.Error())
			return
		}
		out := []any{}
		for _, r := range all {
			rooms := slices.Clone(r.Rooms)
			slices.Sort(rooms)
			out = append(out, map[string]any{"id": r.ID, "rooms": rooms, "data": r.Data})
		}
		ack(out)
	}))
	s.On("op-sse", async(func(_ socketio.Args, ack socketio.AckFunc) {
		c, cancel := ctx()
		defer cancel()
		res, err := nsp.ServerSideEmitWithAck(c, "ping")
		if err != nil {
			ack("error: " + err.Error())
			return
		}
		ack(res)
	}))
	s.On("op-bcast-ack", async(func(_ socketio.Args, ack socketio.AckFunc) {
		c, cancel := ctx()
		defer cancel()
		res, err := nsp.Timeout(3*time.Second).EmitWithAck(c, "q")
		if err != nil {
			ack("error: " + err.Error())
			return
		}
		var names []string
		for _, r := range res.Responses {
			var n string
			r.Args.Decode(0, &n)
			names = append(names, n)
		}
		slices.Sort(names)
		ack(names)
	}))
	s.On("op-join", async(func(args socketio.Args, ack socketio.AckFunc) {
		var room string
		args.Decode(0, &room)
		c, cancel := ctx()
		defer cancel()
		nsp.SocketsJoin(c, room)
		ack()
	}))
	s.On("op-bin", func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var tag string
		args.Decode(0, &tag)
		nsp.Emit("bin", tag, []byte{1, 2, 3})
		ack()
	})
	s.On("op-disconnect", async(func(args socketio.Args, ack socketio.AckFunc) {
		var room string
		args.Decode(0, &room)
		c, cancel := ctx()
		defer cancel()
		nsp.To(room).DisconnectSockets(c, false)
		ack()
	}))
}

// TestCSRStreamsMixedCluster: the cluster operations between a Go node on the
// Streams adapter and a Node node with @socket.io/redis-streams-adapter 0.3,
// each driven from both sides by npm clients (conformance/node/csr_streams_mixed.js):
// serverCount, fetchSockets (ids, rooms, data), serverSideEmit with ack,
// broadcast with ack, socketsJoin, binary broadcasts (the base64 msgpack
// entries), and disconnectSockets.
func TestCSRStreamsMixedCluster(t *testing.T) {
	testutil.NodeModules(t)
	rds := testutil.StartRedis(t)
	name := "csr-streams-mixed"
	goURL := startStreamsGoNode(t, rds.URL(), name)
	nodeURL := startStreamsNodeNode(t, rds.URL(), name)
	client := testutil.StartNode(t, "conformance/node/csr_streams_mixed.js", goURL, nodeURL)
	client.WaitLine(t, "done", 60*time.Second)
	lines := client.Lines()
	t.Log(strings.Join(lines, "\n"))
	for _, l := range lines {
		if strings.HasPrefix(l, "fail ") {
			t.Errorf("node client: %s", l)
		}
	}
	for _, s := range []string{"connect", "server-count", "fetch-sockets", "server-side-emit", "broadcast-ack",
		"sockets-join", "binary", "disconnect-sockets"} {
		if !contains(lines, "ok "+s) {
			t.Errorf("step %s did not pass", s)
		}
	}
}

// TestCSRStreamsNaming: with several streams, a namespace goes to
// name-(hashCode(nsp) % count): "/" -> name-2, and "/notifications" ->
// name--1 (a negative hash: Node writes there but never reads). The Go adapter
// writes where Node writes, and reads what Node writes, in both.
func TestCSRStreamsNaming(t *testing.T) {
	testutil.NodeModules(t)
	rds := testutil.StartRedis(t)
	const name, count = "csr-naming", 5
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.DialStreams(ctx, rds.URL(), &redis.StreamsOptions{StreamName: name, ChannelPrefix: name, StreamCount: count})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	streams := map[string]string{"/": name + "-2", "/notifications": name + "--1"}
	fakes := map[string]*adaptertest.FakeNamespace{}
	for nsp := range streams {
		ns := adaptertest.NewFakeNamespace(nsp)
		a, err := st.NewAdapter(ns)
		if err != nil {
			t.Fatal(err)
		}
		ns.Adapter = a
		defer a.Close(context.Background())
		ns.Connect(t, "s")
		fakes[nsp] = ns
	}
	node := testutil.StartNode(t, "conformance/node/csr_streams_emit.js", rds.URL(), name, strconv.Itoa(count), "/", "/notifications")
	node.WaitLine(t, "emitting", 20*time.Second)
	for nsp, ns := range fakes {
		deadline := time.Now().Add(10 * time.Second)
		for len(ns.Received(0)) == 1 { // "s" has nothing yet
			if time.Now().After(deadline) {
				t.Fatalf("%s: nothing read from %s", nsp, streams[nsp])
			}
			time.Sleep(20 * time.Millisecond)
		}
		before := xlen(t, rds, streams[nsp])
		if before == 0 {
			t.Fatalf("Node wrote nothing to %s", streams[nsp])
		}
		if err := ns.Adapter.Broadcast(context.Background(), &parser.Packet{Type: parser.Event, Event: "go"}, nil); err != nil {
			t.Fatal(err)
		}
		if after := xlen(t, rds, streams[nsp]); after <= before {
			t.Fatalf("%s: the Go broadcast did not go to %s (%d -> %d entries)", nsp, streams[nsp], before, after)
		}
	}
}

func xlen(t *testing.T, rds *testutil.RedisServer, stream string) int {
	t.Helper()
	out, err := rds.Command("XLEN", stream)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		t.Fatalf("XLEN %s: %q", stream, out)
	}
	return n
}
