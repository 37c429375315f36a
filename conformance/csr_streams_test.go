package conformance

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/internal/testutil"
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
	for i, tc := range []struct{ name, first, second string }{
		{"go-node", "go", "node"},
		{"go-go", "go", "go"},
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
			client := testutil.StartNode(t, "conformance/node/csr_streams_client.js", urls[0], urls[1])
			client.WaitLine(t, "done", 60*time.Second)
			lines := client.Lines()
			for _, l := range lines {
				if strings.HasPrefix(l, "fail ") {
					t.Errorf("node client: %s", l)
				}
			}
			for _, s := range []string{"connect", "first-to-second", "second-to-first"} {
				if !contains(lines, "ok "+s) {
					t.Errorf("step %s did not pass", s)
				}
			}
		})
	}
}
