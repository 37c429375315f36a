package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// nodePeer drives conformance/node/redis_node.js: a npm socket.io server with
// @socket.io/redis-adapter, the socket.io-client clients and an npm emitter.
type nodePeer struct {
	base string
}

func (p *nodePeer) do(t testing.TB, cmd map[string]any) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(cmd)
	resp, err := http.Post(p.base+"/ctl", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("node ctl %v: %v", cmd["op"], err)
	}
	defer resp.Body.Close()
	var r struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("node ctl %v: %v", cmd["op"], err)
	}
	if !r.OK {
		t.Fatalf("node ctl %v: %s", cmd["op"], r.Error)
	}
	return r.Result
}

type clientState struct {
	ID          string   `json:"id"`
	Connected   bool     `json:"connected"`
	Events      [][]any  `json:"events"`
	Disconnects []string `json:"disconnects"`
}

func (p *nodePeer) client(t testing.TB, name string) clientState {
	t.Helper()
	var s clientState
	if err := json.Unmarshal(p.do(t, map[string]any{"op": "client", "name": name}), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// connect connects client name to the server at url, in rooms, and returns its id.
func (p *nodePeer) connect(t testing.TB, name, url, nsp string, rooms ...string) string {
	t.Helper()
	var r struct{ ID string }
	json.Unmarshal(p.do(t, map[string]any{"op": "connect", "name": name, "url": url, "nsp": nsp, "rooms": rooms}), &r)
	if len(r.ID) != 20 {
		t.Fatalf("client %s: socket id %q is not 20 characters", name, r.ID)
	}
	return r.ID
}

// events returns the names of the events client name received.
func (p *nodePeer) events(t testing.TB, name string) []string {
	t.Helper()
	var out []string
	for _, e := range p.client(t, name).Events {
		out = append(out, e[0].(string))
	}
	return out
}

// waitEvent waits until client name received event, and returns its arguments.
func (p *nodePeer) waitEvent(t testing.TB, name, event string) []any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, e := range p.client(t, name).Events {
			if e[0] == event {
				return e[1:]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("client %s never received %q (got %v)", name, event, p.events(t, name))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goRedisNode is a Go socketio.Server with the Redis adapter.
type goRedisNode struct {
	srv  *socketio.Server
	rc   *redis.Client
	url  string
	mu   sync.Mutex
	sses [][]any
}

var redisKeySeq atomic.Int64

func startGoRedisNode(t testing.TB, redisURL, mode, key string) *goRedisNode {
	t.Helper()
	codec := wire.Msgpack
	if mode == "classic-json" { // Node's parser option set to JSON
		mode, codec = "classic", wire.JSON
	}
	m, sub, err := redis.ParseMode(mode)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := redis.Dial(ctx, redisURL, &redis.Options{Mode: m, SubscriptionMode: sub, Key: key,
		RequestsTimeout: 3 * time.Second, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	g := &goRedisNode{rc: rc}
	g.srv = socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, name := range []string{"/", "/custom"} {
		n := g.srv.Of(name)
		n.OnConnection(func(s *socketio.Socket) {
			q := s.Handshake().Query
			s.SetData(map[string]any{"side": "go", "name": q.Get("name")})
			if r := q.Get("rooms"); r != "" {
				s.Join(strings.Split(r, ",")...)
			}
		})
		n.OnServerSideEmit("sse", func(args socketio.Args, ack func(any)) {
			vals := []any{"sse"} // the handler gets the arguments only
			for i := range args {
				v, _ := socketio.Decode[any](args, i)
				vals = append(vals, v)
			}
			g.mu.Lock()
			g.sses = append(g.sses, vals)
			g.mu.Unlock()
			if ack != nil {
				ack(fmt.Sprint("go-ack-", vals[1]))
			}
		})
	}
	hs := httptest.NewServer(g.srv)
	g.url = hs.URL
	t.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		g.srv.Shutdown(ctx)
		hs.Close()
		rc.Close()
	})
	return g
}

func (g *goRedisNode) sse() [][]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sses)
}

func startNodePeer(t testing.TB, redisArg, mode, key string) *nodePeer {
	t.Helper()
	p := testutil.StartNode(t, "conformance/node/redis_node.js", redisArg, mode, key)
	line := p.WaitLine(t, "listening ", 20*time.Second)
	return &nodePeer{base: "http://127.0.0.1:" + strings.TrimPrefix(line, "listening ")}
}

type mixedCluster struct {
	g   *goRedisNode
	n   *nodePeer
	ids map[string]string
	key string
}

// startMixed starts a Go node and a Node node on the same Redis, with clients
// n1, n2 (Node server) and g1, g2 (Go server) in room1 / room2 of "/", and nc,
// gc in "/custom".
func startMixed(t testing.TB, goRedisURL, nodeRedisArg, mode string) *mixedCluster {
	key := "mx" + strconv.FormatInt(redisKeySeq.Add(1), 10)
	g := startGoRedisNode(t, goRedisURL, mode, key)
	n := startNodePeer(t, nodeRedisArg, mode, key)
	m := &mixedCluster{g: g, n: n, ids: map[string]string{}, key: key}
	ctx := context.Background()
	for _, nsp := range []string{"/", "/custom"} {
		waitFor(t, "two servers for "+nsp, func() bool {
			c, err := g.srv.Of(nsp).Adapter().ServerCount(ctx)
			var nc int
			json.Unmarshal(n.do(t, map[string]any{"op": "serverCount", "nsp": nsp}), &nc)
			return err == nil && c == 2 && nc == 2
		})
	}
	m.ids["n1"] = n.connect(t, "n1", n.base, "/", "room1")
	m.ids["n2"] = n.connect(t, "n2", n.base, "/", "room2")
	m.ids["g1"] = n.connect(t, "g1", g.url, "/", "room1")
	m.ids["g2"] = n.connect(t, "g2", g.url, "/", "room2")
	m.ids["nc"] = n.connect(t, "nc", n.base, "/custom")
	m.ids["gc"] = n.connect(t, "gc", g.url, "/custom")
	// Dynamic sharded subscriptions are asynchronous (Node's own tests wait 50 ms).
	time.Sleep(100 * time.Millisecond)
	return m
}

var redisModes = []string{"classic", "classic-json", "sharded-dynamic", "sharded-static", "sharded-dynamic-private"}

func TestRedisMixedCluster(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mode := range redisModes {
		t.Run(mode, func(t *testing.T) {
			m := startMixed(t, srv.URL(), srv.URL(), mode)
			runMixedScenario(t, m, mode)
		})
	}
}

// TestRedisMixedRedisCluster runs the mixed scenario on a 3-master Redis
// Cluster (Node uses redis@4 createCluster).
func TestRedisMixedRedisCluster(t *testing.T) {
	c := testutil.StartRedisCluster(t, 3)
	a := c.Addrs()
	goURL := "redis://" + a[0] + "?addr=" + a[1] + "&addr=" + a[2]
	nodeArg := "cluster:" + strings.Join(a, ",")
	for _, mode := range []string{"classic", "sharded-dynamic"} {
		t.Run(mode, func(t *testing.T) {
			m := startMixed(t, goURL, nodeArg, mode)
			runMixedScenario(t, m, mode)
		})
	}
}

func bufferJSON(b ...float64) map[string]any {
	data := make([]any, len(b))
	for i, v := range b {
		data[i] = v
	}
	return map[string]any{"type": "Buffer", "data": data}
}

// runMixedScenario runs every cluster operation from each side and checks the
// clients of the other.
func runMixedScenario(t *testing.T, m *mixedCluster, mode string) {
	ctx := context.Background()
	n, g := m.n, m.g
	root := g.srv.Of("/")

	// ---- started on the Go server, observed on the Node server's clients ----
	if err := root.Emit("hello", 1, "2", []byte{3, 4}, map[string]any{"x": 1.5}); err != nil {
		t.Fatal(err)
	}
	args := n.waitEvent(t, "n1", "hello")
	if want := []any{1.0, "2", bufferJSON(3, 4), map[string]any{"x": 1.5}}; !reflect.DeepEqual(args, want) {
		t.Fatalf("hello args %#v, want %#v", args, want)
	}
	n.waitEvent(t, "g1", "hello")
	root.Volatile().Emit("go-volatile")
	n.waitEvent(t, "n2", "go-volatile")
	root.To("room1").Emit("go-r1")
	root.Except("room1").Emit("go-ex")
	root.To(m.ids["n2"]).Emit("go-direct")
	g.srv.Of("/custom").Emit("go-custom")
	n.waitEvent(t, "n1", "go-r1")
	n.waitEvent(t, "n2", "go-ex")
	n.waitEvent(t, "n2", "go-direct")
	n.waitEvent(t, "nc", "go-custom")
	root.To(m.ids["g2"]).Emit("go-fence")
	n.waitEvent(t, "g2", "go-fence")
	if ev := n.events(t, "n1"); slices.Contains(ev, "go-ex") || slices.Contains(ev, "go-custom") || slices.Contains(ev, "go-direct") {
		t.Fatalf("n1 got events not meant for it: %v", ev)
	}
	if ev := n.events(t, "n2"); slices.Contains(ev, "go-r1") {
		t.Fatalf("n2 got room1's event: %v", ev)
	}

	// broadcast with acks: the client count of both servers, then every ack
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	acks, err := root.Timeout(3*time.Second).EmitWithAck(actx, "go-ack")
	cancel()
	if err != nil || acks.Expected != 4 || len(acks.Responses) != 4 {
		t.Fatalf("EmitWithAck: %+v %v", acks, err)
	}
	var answers []string
	for _, r := range acks.Responses {
		var s string
		if err := r.Args.Decode(0, &s); err != nil {
			t.Fatal(err)
		}
		answers = append(answers, s)
	}
	slices.Sort(answers)
	if want := []string{"ack-g1", "ack-g2", "ack-n1", "ack-n2"}; !slices.Equal(answers, want) {
		t.Fatalf("acks %v", answers)
	}

	// fetchSockets, and operations on a remote socket
	socks, err := root.FetchSockets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n1 *socketio.RemoteSocket
	for _, s := range socks {
		if s.ID == m.ids["n1"] {
			n1 = s
		}
	}
	if len(socks) != 4 || n1 == nil || n1.Local || !slices.Contains(n1.Rooms, "room1") ||
		n1.Handshake == nil || n1.Handshake.Query.Get("name") != "n1" || n1.Handshake.Time.IsZero() ||
		n1.Data.(map[string]any)["side"] != "node" {
		t.Fatalf("fetchSockets: %d sockets, n1 %+v", len(socks), n1)
	}
	n1.Emit("go-remote", "x")
	n.waitEvent(t, "n1", "go-remote")
	nodeRooms := func(id string) []string {
		var r []string
		json.Unmarshal(n.do(t, map[string]any{"op": "rooms", "id": id}), &r)
		return r
	}
	n1.Join(ctx, "go-joined")
	waitFor(t, "remote join", func() bool { return slices.Contains(nodeRooms(m.ids["n1"]), "go-joined") })
	n1.Leave(ctx, "go-joined")
	waitFor(t, "remote leave", func() bool { return !slices.Contains(nodeRooms(m.ids["n1"]), "go-joined") })
	root.To("room2").SocketsJoin(ctx, "go-sj")
	waitFor(t, "socketsJoin", func() bool { return slices.Contains(nodeRooms(m.ids["n2"]), "go-sj") })
	root.To("room2").SocketsLeave(ctx, "go-sj")
	waitFor(t, "socketsLeave", func() bool { return !slices.Contains(nodeRooms(m.ids["n2"]), "go-sj") })

	// serverSideEmit, with acks
	root.ServerSideEmit(ctx, "sse", "from-go")
	waitFor(t, "sse on node", func() bool {
		return strings.Contains(string(n.do(t, map[string]any{"op": "sse"})), "from-go")
	})
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	resp, err := root.ServerSideEmitWithAck(sctx, "sse", "go-q")
	cancel()
	if err != nil || !reflect.DeepEqual(resp, socketio.Args{"node-ack-go-q"}) {
		t.Fatalf("ServerSideEmitWithAck: %v %v", resp, err)
	}

	// ---- started on the Node server, observed on the Go server's clients ----
	n.do(t, map[string]any{"op": "emit", "event": "hello-n", "args": []any{1, map[string]any{"$bin": []int{5, 6}}}})
	if args := n.waitEvent(t, "g1", "hello-n"); !reflect.DeepEqual(args, []any{1.0, bufferJSON(5, 6)}) {
		t.Fatalf("hello-n args %#v", args)
	}
	n.do(t, map[string]any{"op": "emit", "event": "n-volatile", "volatile": true})
	n.waitEvent(t, "g2", "n-volatile")
	n.do(t, map[string]any{"op": "emit", "event": "n-r1", "rooms": []string{"room1"}})
	n.do(t, map[string]any{"op": "emit", "event": "n-ex", "except": []string{"room1"}})
	n.do(t, map[string]any{"op": "emit", "event": "n-direct", "rooms": []string{m.ids["g2"]}})
	n.do(t, map[string]any{"op": "emit", "event": "n-custom", "nsp": "/custom"})
	n.waitEvent(t, "g1", "n-r1")
	n.waitEvent(t, "g2", "n-ex")
	n.waitEvent(t, "g2", "n-direct")
	n.waitEvent(t, "gc", "n-custom")
	if ev := n.events(t, "g1"); slices.Contains(ev, "n-ex") || slices.Contains(ev, "n-direct") {
		t.Fatalf("g1 got events not meant for it: %v", ev)
	}
	var ackRes struct {
		Responses []string `json:"responses"`
		Error     string   `json:"error"`
	}
	json.Unmarshal(n.do(t, map[string]any{"op": "emitWithAck", "event": "n-ack", "timeout": 3000}), &ackRes)
	slices.Sort(ackRes.Responses)
	if ackRes.Error != "" || !slices.Equal(ackRes.Responses, []string{"ack-g1", "ack-g2", "ack-n1", "ack-n2"}) {
		t.Fatalf("node emitWithAck: %+v", ackRes)
	}
	var fetched []struct {
		ID        string         `json:"id"`
		Rooms     []string       `json:"rooms"`
		Data      map[string]any `json:"data"`
		Handshake map[string]any `json:"handshake"`
	}
	json.Unmarshal(n.do(t, map[string]any{"op": "fetchSockets", "rooms": []string{"room1"}}), &fetched)
	found := false
	for _, s := range fetched {
		if s.ID == m.ids["g1"] {
			found = true
			q, _ := s.Handshake["query"].(map[string]any)
			_, hasHeaders := s.Handshake["headers"].(map[string]any)
			_, issued := s.Handshake["issued"].(float64)
			if !slices.Contains(s.Rooms, "room1") || !slices.Contains(s.Rooms, s.ID) || s.Data["side"] != "go" ||
				q["name"] != "g1" || !hasHeaders || !issued {
				t.Fatalf("node fetched g1 as %+v", s)
			}
		}
	}
	if len(fetched) != 2 || !found {
		t.Fatalf("node fetchSockets(room1): %+v", fetched)
	}
	goRooms := func(id string) []string {
		if s := root.Socket(id); s != nil {
			return s.Rooms()
		}
		return nil
	}
	n.do(t, map[string]any{"op": "remote", "id": m.ids["g1"], "action": "emit", "event": "n-remote"})
	n.waitEvent(t, "g1", "n-remote")
	// expectSingleResponse: the answer itself, not a list
	var remoteAck any
	json.Unmarshal(n.do(t, map[string]any{"op": "remote", "id": m.ids["g1"], "action": "emitWithAck", "event": "n-remote-ack"}), &remoteAck)
	if remoteAck != "ack-g1" {
		t.Fatalf("remote emitWithAck: %v", remoteAck)
	}
	n.do(t, map[string]any{"op": "remote", "id": m.ids["g1"], "action": "join", "room": "n-joined"})
	waitFor(t, "node remote join", func() bool { return slices.Contains(goRooms(m.ids["g1"]), "n-joined") })
	n.do(t, map[string]any{"op": "remote", "id": m.ids["g1"], "action": "leave", "room": "n-joined"})
	waitFor(t, "node remote leave", func() bool { return !slices.Contains(goRooms(m.ids["g1"]), "n-joined") })
	n.do(t, map[string]any{"op": "socketsJoin", "rooms": []string{"room2"}, "join": []string{"n-sj"}})
	waitFor(t, "node socketsJoin", func() bool { return slices.Contains(goRooms(m.ids["g2"]), "n-sj") })
	n.do(t, map[string]any{"op": "socketsLeave", "rooms": []string{"room2"}, "leave": []string{"n-sj"}})
	waitFor(t, "node socketsLeave", func() bool { return !slices.Contains(goRooms(m.ids["g2"]), "n-sj") })
	n.do(t, map[string]any{"op": "serverSideEmit", "args": []any{"from-node"}})
	waitFor(t, "sse on go", func() bool {
		for _, e := range g.sse() {
			if len(e) == 2 && e[1] == "from-node" {
				return true
			}
		}
		return false
	})
	var sseRes struct {
		Responses []string `json:"responses"`
		Error     string   `json:"error"`
	}
	json.Unmarshal(n.do(t, map[string]any{"op": "serverSideEmitWithAck", "args": []any{"node-q"}}), &sseRes)
	if sseRes.Error != "" || !slices.Equal(sseRes.Responses, []string{"go-ack-node-q"}) {
		t.Fatalf("node serverSideEmitWithAck: %+v", sseRes)
	}
	if strings.HasPrefix(mode, "classic") {
		var rooms []string
		json.Unmarshal(n.do(t, map[string]any{"op": "allRooms"}), &rooms)
		for _, want := range []string{"room1", "room2", m.ids["g1"], m.ids["n1"]} {
			if !slices.Contains(rooms, want) {
				t.Fatalf("allRooms %v lacks %s", rooms, want)
			}
		}
	}

	// ---- disconnects, last ----
	root.To("room2").DisconnectSockets(ctx, true)
	waitFor(t, "go disconnectSockets", func() bool {
		return slices.Contains(n.client(t, "n2").Disconnects, "io server disconnect") &&
			slices.Contains(n.client(t, "g2").Disconnects, "io server disconnect")
	})
	n.do(t, map[string]any{"op": "disconnectSockets", "rooms": []string{"room1"}})
	waitFor(t, "node disconnectSockets", func() bool {
		return slices.Contains(n.client(t, "n1").Disconnects, "io server disconnect") &&
			slices.Contains(n.client(t, "g1").Disconnects, "io server disconnect")
	})
	if !n.client(t, "gc").Connected || !n.client(t, "nc").Connected {
		t.Fatal("disconnected sockets of another namespace")
	}
	// a remote socket disconnected from the other side, in "/custom"
	csocks, err := g.srv.Of("/custom").FetchSockets(ctx)
	if err != nil || len(csocks) != 2 {
		t.Fatalf("fetchSockets /custom: %d %v", len(csocks), err)
	}
	for _, s := range csocks {
		if s.ID == m.ids["nc"] {
			s.Disconnect(ctx, true)
		}
	}
	waitFor(t, "go remote disconnect", func() bool { return !n.client(t, "nc").Connected })
	n.do(t, map[string]any{"op": "remote", "nsp": "/custom", "id": m.ids["gc"], "action": "disconnect", "close": true})
	waitFor(t, "node remote disconnect", func() bool { return !n.client(t, "gc").Connected })
}
