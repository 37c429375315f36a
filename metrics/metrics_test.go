package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/socketio"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// get returns one value of c's metrics ("" label for an unlabelled one).
func get(c *metrics.Counters, name, label string) int64 {
	vs, ok := c.Map()[name]
	if !ok {
		panic("no metric " + name)
	}
	v, ok := vs[label]
	if !ok {
		panic("no label " + label + " in " + name)
	}
	return v
}

// waitFor polls cond until it holds (the observers run on the server's
// goroutines, after what the client sees).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type want struct {
	name, label string
	n           int64
}

func check(t *testing.T, c *metrics.Counters, ws []want) {
	t.Helper()
	for _, w := range ws {
		if got := get(c, w.name, w.label); got != w.n {
			t.Errorf("%s{%q} = %d, want %d", w.name, w.label, got, w.n)
		}
	}
}

// TestEngineIOCounters runs a real Engine.IO server and clients on loopback:
// one WebSocket and one polling session exchange known messages, three
// requests are refused, and the counters must match exactly.
func TestEngineIOCounters(t *testing.T) {
	c := metrics.NewCounters()
	srv := engineio.NewServer(func(s *engineio.Session) {
		for {
			m, err := s.Read(context.Background())
			if err != nil {
				return
			}
			if s.Send(m) != nil {
				return
			}
		}
	}, &engineio.ServerOptions{Observer: c})
	hs := testutil.Serve(t, srv, srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	exchange := func(transport string, msgs ...string) {
		conn, err := engineio.Dial(ctx, hs.URL, &engineio.DialOptions{Transports: []string{transport}, DisableUpgrade: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if err := conn.Send(engineio.Message{Data: []byte(m)}); err != nil {
				t.Fatal(err)
			}
			got, err := conn.Read(ctx)
			if err != nil || string(got.Data) != m {
				t.Fatalf("%s: echo %q, %v; want %q", transport, got.Data, err, m)
			}
		}
		conn.Close()
	}
	exchange(engineio.TransportWebSocket, "a", "bb", "ccc")
	exchange(engineio.TransportPolling, "1234", "56")

	refuse := func(query string, header http.Header, status int) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/engine.io/?"+query, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != status {
			t.Fatalf("%s: status %d, want %d", query, res.StatusCode, status)
		}
	}
	refuse("EIO=3&transport=polling", nil, http.StatusBadRequest)
	refuse("EIO=4&transport=carrier-pigeon", nil, http.StatusBadRequest)
	refuse("EIO=4&transport=polling", http.Header{"X-Big": {strings.Repeat("x", 20<<10)}}, http.StatusRequestHeaderFieldsTooLarge)

	waitFor(t, "both sessions closed", func() bool {
		return get(c, "engineio_sessions_closed", string(engineio.ReasonTransportClose)) == 2
	})
	check(t, c, []want{
		{"engineio_sessions_opened", "websocket", 1},
		{"engineio_sessions_opened", "polling", 1},
		{"engineio_sessions_open", "websocket", 0},
		{"engineio_sessions_open", "polling", 0},
		{"engineio_upgrades", "", 0},
		{"engineio_messages_in", "websocket", 3},
		{"engineio_bytes_in", "websocket", 6},
		{"engineio_messages_in", "polling", 2},
		{"engineio_bytes_in", "polling", 6},
		{"engineio_messages_out", "websocket", 3},
		{"engineio_bytes_out", "websocket", 6},
		{"engineio_messages_out", "polling", 2},
		{"engineio_bytes_out", "polling", 6},
		{"engineio_refused", string(engineio.RefusedUnsupportedVersion), 1},
		{"engineio_refused", string(engineio.RefusedUnknownTransport), 1},
		{"engineio_refused", string(engineio.RefusedHeaderTooLarge), 1},
		{"engineio_refused", metrics.Other, 0},
	})
}

// newSocketIO starts a Socket.IO server whose two observers are c, and its
// HTTP server; stopped at the test's end. drop cuts the WebSockets.
func newSocketIO(t *testing.T, c *metrics.Counters, opts *socketio.ServerOptions) (srv *socketio.Server, hs *httptest.Server, drop func()) {
	if opts == nil {
		opts = &socketio.ServerOptions{}
	}
	opts.Observer = c
	opts.Engine = &engineio.ServerOptions{Observer: c}
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv = socketio.NewServer(opts)
	hs = httptest.NewUnstartedServer(srv)
	var mu sync.Mutex
	var hijacked []net.Conn
	hs.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateHijacked {
			mu.Lock()
			hijacked = append(hijacked, c)
			mu.Unlock()
		}
	}
	hs.Start()
	drop = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range hijacked {
			c.Close()
		}
		hijacked = nil
	}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, hs, drop
}

// TestSocketIOCounters: N clients connect over WebSocket, each sends M
// events with an acknowledgement, one server ack times out, a client sends an
// unknown recovery session (a miss), and each client disconnects.
func TestSocketIOCounters(t *testing.T) {
	const N, M = 3, 4
	c := metrics.NewCounters()
	srv, hs, _ := newSocketIO(t, c, &socketio.ServerOptions{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	timedOut := make(chan error, 1)
	var first bool
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
		if !first { // OnConnection handlers run one connection at a time here
			first = true
			// Nobody answers "unanswered": its ack times out.
			s.EmitWithCallback("unanswered", 50*time.Millisecond, func(_ socketio.Args, err error) { timedOut <- err })
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var socks []*socketio.ClientSocket
	for i := range N {
		var auth any
		if i == N-1 {
			auth = map[string]any{"pid": "nope", "offset": "nope"}
		}
		s, err := socketio.NewClientSocket(hs.URL, &socketio.ClientOptions{
			ManagerOptions:      socketio.ManagerOptions{Transports: []string{engineio.TransportWebSocket}, DisableReconnection: true},
			ClientSocketOptions: socketio.ClientSocketOptions{Auth: auth},
			ForceNew:            true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		socks = append(socks, s)
		if i == 0 {
			if err := <-timedOut; !errors.Is(err, socketio.ErrAckTimeout) {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	for _, s := range socks {
		for j := range M {
			if _, err := s.EmitWithAck(ctx, "echo", j); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "N sockets connected", func() bool { return get(c, "socketio_sockets_connected", "") == N })
	for _, s := range socks {
		s.Disconnect()
	}
	waitFor(t, "the sockets to leave", func() bool { return get(c, "socketio_sockets_connected", "") == 0 })
	check(t, c, []want{
		{"socketio_connects", "", N},
		{"socketio_disconnects", string(socketio.ReasonClientNamespaceDisconnect), N},
		{"socketio_ack_timeouts", "", 1},
		{"socketio_recoveries", "recovered", 0},
		{"socketio_recoveries", "missed", 1},
		{"socketio_adapter_failures", "publish", 0},
		{"engineio_sessions_opened", "websocket", N},
		// In: CONNECT, M events, DISCONNECT per client. Out: the CONNECT
		// reply and M acks per client, and "unanswered".
		{"engineio_messages_in", "websocket", N * (M + 2)},
		{"engineio_messages_out", "websocket", N*(M+1) + 1},
	})
}

// TestRecoverySuccess: a client whose connection drops recovers its session.
func TestRecoverySuccess(t *testing.T) {
	c := metrics.NewCounters()
	srv, hs, drop := newSocketIO(t, c, &socketio.ServerOptions{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Emit("hello")
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := socketio.NewClientSocket(hs.URL, &socketio.ClientOptions{
		ManagerOptions: socketio.ManagerOptions{Transports: []string{engineio.TransportWebSocket}, ReconnectionDelay: 10 * time.Millisecond},
		ForceNew:       true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	hello := make(chan struct{}, 1)
	s.On("hello", func(socketio.Args, socketio.AckFunc) { hello <- struct{}{} })
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	<-hello // the client has an offset
	drop()
	waitFor(t, "the recovery", func() bool { return s.Connected() && s.Recovered() })
	check(t, c, []want{
		{"socketio_recoveries", "recovered", 1},
		{"socketio_recoveries", "missed", 0},
		{"socketio_connects", "", 2},
		{"socketio_sockets_connected", "", 1},
	})
}

var publishRuns int

// TestPublish: the counters appear in expvar's JSON, once per name.
func TestPublish(t *testing.T) {
	// expvar names live for the process: a name of its own per run of the test
	// (go test -count=N runs it N times in one process).
	publishRuns++
	name := fmt.Sprintf("corvid_test_%d", publishRuns)
	c := metrics.NewCounters()
	c.Upgraded()
	if err := c.Publish(name); err != nil {
		t.Fatal(err)
	}
	if err := metrics.NewCounters().Publish(name); !errors.Is(err, metrics.ErrPublished) {
		t.Fatalf("second Publish: %v", err)
	}
	var m map[string]map[string]int64
	if err := json.Unmarshal([]byte(expvar.Get(name).String()), &m); err != nil {
		t.Fatal(err)
	}
	if m["engineio_upgrades"][""] != 1 {
		t.Fatalf("expvar: %v", m)
	}
}

// TestUpgradeAndSlowConsumer: a client that upgrades to WebSocket is counted
// as an upgrade (and open on websocket), and a send over MaxSendQueueLen
// closes its session as a slow consumer.
func TestUpgradeAndSlowConsumer(t *testing.T) {
	c := metrics.NewCounters()
	srv := engineio.NewServer(func(s *engineio.Session) {
		if s.Handshake().Query.Get("flood") == "" {
			s.Read(context.Background()) // until the client leaves
			return
		}
		one := engineio.Message{Data: []byte("x")}
		s.Send(one, one, one) // over MaxSendQueueLen: closes the session
	}, &engineio.ServerOptions{Observer: c, MaxSendQueueLen: 2})
	hs := testutil.Serve(t, srv, srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := engineio.Dial(ctx, hs.URL, nil) // polling, then the upgrade
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "the upgrade", func() bool { return conn.Transport() == engineio.TransportWebSocket })
	waitFor(t, "the upgrade counted", func() bool { return get(c, "engineio_upgrades", "") == 1 })
	check(t, c, []want{
		{"engineio_sessions_opened", "polling", 1},
		{"engineio_sessions_open", "polling", 0},
		{"engineio_sessions_open", "websocket", 1},
	})

	flood, err := engineio.Dial(ctx, hs.URL, &engineio.DialOptions{
		Transports: []string{engineio.TransportPolling}, Query: url.Values{"flood": {"1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer flood.Close()
	waitFor(t, "the slow consumer's close", func() bool {
		return get(c, "engineio_sessions_closed", string(engineio.ReasonSlowConsumer)) == 1
	})
	check(t, c, []want{
		{"engineio_sessions_opened", "polling", 2},
		{"engineio_sessions_open", "polling", 0},
		{"engineio_messages_out", "polling", 0},
	})
}
