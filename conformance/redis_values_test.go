package conformance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/internal/valuegen"
	"github.com/corvid-io/corvid/parser"
	"github.com/corvid-io/corvid/socketio"
)

// valueCases is the number of generated values each path delivers
// (CORVID_LONG=1: more).
func valueCases() int {
	if os.Getenv("CORVID_LONG") != "" {
		return 300
	}
	return 30
}

// generatedValues returns n generated Go values (valuegen) that hold at most
// 10 binary attachments, socket.io-client's limit for one packet.
func generatedValues(t *testing.T, n int) []any {
	g := valuegen.New(16)
	g.MaxDepth = 3
	g.MaxBytes = 12
	var out []any
	for len(out) < n {
		v := g.Value()
		msgs, err := parser.JSON.Encode(&parser.Packet{Type: parser.Event, Event: "x", Args: []any{v}})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs)-1 <= 10 {
			out = append(out, v)
		}
	}
	return out
}

// asClientJSON is what the control endpoint of redis_node.js shows of tree (a
// parser.Tree) received by a client: a Buffer as {"type":"Buffer","data":[..]},
// numbers as float64.
func asClientJSON(tree any) any {
	return printedTree(tree, func(b []byte) any { return bufferJSON(bytesAsFloats(b)...) })
}

// printedTree is tree (a parser.Tree) as a client script prints it: binary
// as bin makes it, numbers as float64.
func printedTree(tree any, bin func([]byte) any) any {
	switch x := tree.(type) {
	case []byte:
		return bin(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = printedTree(e, bin)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = printedTree(e, bin)
		}
		return out
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return tree
}

func bytesAsFloats(b []byte) []float64 {
	out := make([]float64, len(b))
	for i, c := range b {
		out[i] = float64(c)
	}
	return out
}

// checkDelivered waits until each client has every event prefix<i> and checks
// that its one argument is want[i]. A client name ending in "+offset" is a
// client of a server with connection state recovery: its events carry the
// offset as a last, string argument.
func checkDelivered(t *testing.T, n *nodePeer, prefix string, want []any, clients ...string) {
	t.Helper()
	for _, c := range clients {
		c, withOffset := strings.CutSuffix(c, "+offset")
		got := map[string][]any{}
		deadline := time.Now().Add(10 * time.Second)
		for len(got) < len(want) {
			if time.Now().After(deadline) {
				t.Fatalf("client %s received %d of the %d %s events", c, len(got), len(want), prefix)
			}
			time.Sleep(20 * time.Millisecond)
			for _, e := range n.client(t, c).Events {
				if name, _ := e[0].(string); len(name) > len(prefix) && name[:len(prefix)] == prefix {
					got[name] = e[1:]
				}
			}
		}
		for i, w := range want {
			args := got[prefix+strconv.Itoa(i)]
			if withOffset && len(args) == 2 {
				if _, ok := args[1].(string); ok {
					args = args[:1]
				}
			}
			if len(args) != 1 || !reflect.DeepEqual(args[0], w) {
				gj, _ := json.Marshal(args)
				wj, _ := json.Marshal(w)
				t.Errorf("client %s, value %d: got %.1500s\nwant [%.1500s]", c, i, gj, wj)
			}
		}
	}
}

// TestRedisGeneratedValues delivers generated Go values (structs with []byte
// fields, embedded structs, typed slices and maps, pointers, Marshalers,
// received Values, binary at any depth) from a Go server through each Redis
// path (classic with either codec, sharded, streams, and our Emitter) to npm socket.io-client
// clients of the sending Go server (local delivery), of another Go server and
// of a npm socket.io server, and checks that every client receives each value
// as parser.Tree describes it: what the local path delivers.
func TestRedisGeneratedValues(t *testing.T) {
	testutil.NodeModules(t)
	srv := testutil.StartRedis(t)
	values := generatedValues(t, valueCases())
	want := make([]any, len(values))
	for i, v := range values {
		tree, err := parser.Tree(v)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = asClientJSON(tree)
	}
	ctx := context.Background()

	for _, mode := range []string{"classic", "classic-json", "sharded-dynamic"} {
		t.Run(mode, func(t *testing.T) {
			m := startMixed(t, srv.URL(), srv.URL(), mode)
			h := startGoRedisNode(t, srv.URL(), mode, m.key)
			waitFor(t, "three servers", func() bool {
				c, err := m.g.srv.Of("/").Adapter().ServerCount(ctx)
				return err == nil && c == 3
			})
			h1 := m.n.connect(t, "h1", h.url, "/")
			time.Sleep(100 * time.Millisecond) // dynamic sharded subscriptions
			root := m.g.srv.Of("/")
			for i, v := range values {
				if err := root.Emit("bv"+strconv.Itoa(i), v); err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
			}
			checkDelivered(t, m.n, "bv", want, "g1", "n1", "h1")
			// To single remote sockets, and broadcasts with acknowledgements
			// (another message to the other servers).
			for i, v := range values {
				if err := root.To(m.ids["n1"], h1).Emit("to"+strconv.Itoa(i), v); err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
			}
			checkDelivered(t, m.n, "to", want, "n1", "h1")
			const acked = 5
			for i, v := range values[:acked] {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				acks, err := root.Timeout(3*time.Second).EmitWithAck(actx, "ack"+strconv.Itoa(i), v)
				cancel()
				if err != nil || len(acks.Responses) != 5 {
					t.Fatalf("value %d: EmitWithAck: %+v, %v", i, acks, err)
				}
			}
			checkDelivered(t, m.n, "ack", want[:acked], "g1", "n1", "h1")

			if !strings.HasPrefix(mode, "classic") {
				return // an emitter reaches classic servers only
			}
			codec := wire.Msgpack
			if mode == "classic-json" {
				codec = wire.JSON
			}
			e, err := redis.DialEmitter(ctx, srv.URL(), &redis.EmitterOptions{Key: m.key, Codec: codec})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			for i, v := range values {
				if err := e.Emit(ctx, "em"+strconv.Itoa(i), v); err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
			}
			checkDelivered(t, m.n, "em", want, "g1", "n1", "h1")
		})
	}

	t.Run("streams", func(t *testing.T) {
		name := "bv-streams"
		a, aURL := startStreamsValuesNode(t, srv.URL(), name, nil)
		_, bURL := startStreamsValuesNode(t, srv.URL(), name, nil)
		cURL := startStreamsNodeNode(t, srv.URL(), name)
		waitFor(t, "three servers", func() bool {
			c, err := a.Of("/").Adapter().ServerCount(ctx)
			return err == nil && c == 3
		})
		// A redis_node.js of its own drives the clients.
		drv := startNodePeer(t, srv.URL(), "classic", "bv-driver")
		drv.connect(t, "a1", aURL, "/")
		drv.connect(t, "b1", bURL, "/")
		drv.connect(t, "c1", cURL, "/")
		for i, v := range values {
			if err := a.Of("/").Emit("bv"+strconv.Itoa(i), v); err != nil {
				t.Fatalf("value %d: %v", i, err)
			}
		}
		checkDelivered(t, drv, "bv", want, "a1", "b1", "c1+offset")
	})
}

// startStreamsValuesNode starts a Go server on the streams adapter, with
// parser p (nil: JSON).
func startStreamsValuesNode(t *testing.T, redisURL, name string, p parser.Parser) (*socketio.Server, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.DialStreams(ctx, redisURL, &redis.StreamsOptions{StreamName: name, ChannelPrefix: name,
		SessionKeyPrefix: name + ":session:"})
	if err != nil {
		t.Fatal(err)
	}
	s := socketio.NewServer(&socketio.ServerOptions{Adapter: st.NewAdapter, Parser: p,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
		st.Close()
	})
	return s, hs.URL
}

// startRedisValuesNode starts a Go server on the Redis adapter in mode
// (classic or sharded-dynamic), with parser p.
func startRedisValuesNode(t *testing.T, redisURL, mode, key string, p parser.Parser) (*socketio.Server, string) {
	t.Helper()
	m, sub, err := redis.ParseMode(mode)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := redis.Dial(ctx, redisURL, &redis.Options{Mode: m, SubscriptionMode: sub, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	s := socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter, Parser: p,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		hs.Close()
		rc.Close()
	})
	return s, hs.URL
}

// asBinJSON is what values_client.js prints of tree (a parser.Tree): binary
// as {"$bin":[bytes]}, numbers as float64.
func asBinJSON(tree any) any {
	return printedTree(tree, func(b []byte) any {
		data := make([]any, len(b))
		for i, c := range b {
			data[i] = float64(c)
		}
		return map[string]any{"$bin": data}
	})
}

// TestRedisGeneratedValuesMsgpack delivers generated Go values from a Go
// server with the msgpack parser through each Redis adapter to
// socket.io-msgpack-parser clients of that server and of another Go server
// with the msgpack parser: both receive each value as parser.Tree describes it.
func TestRedisGeneratedValuesMsgpack(t *testing.T) {
	testutil.NodeModules(t)
	srv := testutil.StartRedis(t)
	values := generatedValues(t, valueCases())
	want := make([]any, len(values))
	for i, v := range values {
		tree, err := parser.Tree(v)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = []any{asBinJSON(tree)}
	}
	ctx := context.Background()
	for _, mode := range []string{"classic", "sharded-dynamic", "streams"} {
		t.Run(mode, func(t *testing.T) {
			key := "bvm-" + mode
			var a *socketio.Server
			var aURL, bURL string
			if mode == "streams" {
				a, aURL = startStreamsValuesNode(t, srv.URL(), key, parser.Msgpack())
				_, bURL = startStreamsValuesNode(t, srv.URL(), key, parser.Msgpack())
			} else {
				a, aURL = startRedisValuesNode(t, srv.URL(), mode, key, parser.Msgpack())
				_, bURL = startRedisValuesNode(t, srv.URL(), mode, key, parser.Msgpack())
			}
			waitFor(t, "two servers", func() bool {
				c, err := a.Of("/").Adapter().ServerCount(ctx)
				return err == nil && c == 2
			})
			cl := testutil.StartNode(t, "conformance/node/values_client.js", "msgpack", strconv.Itoa(len(values)), "bv",
				"local="+aURL+"/", "remote="+bURL+"/")
			cl.WaitLine(t, "ready", 20*time.Second)
			time.Sleep(100 * time.Millisecond) // dynamic sharded subscriptions
			for i, v := range values {
				if err := a.Of("/").Emit("bv"+strconv.Itoa(i), v); err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
			}
			cl.WaitLine(t, "done", 20*time.Second)
			for _, l := range cl.Lines() {
				rest, ok := strings.CutPrefix(l, "events ")
				if !ok {
					continue
				}
				name, js, _ := strings.Cut(rest, " ")
				var got map[string]any
				if err := json.Unmarshal([]byte(js), &got); err != nil {
					t.Fatal(err)
				}
				for i, w := range want {
					if g := got["bv"+strconv.Itoa(i)]; !reflect.DeepEqual(g, w) {
						gj, _ := json.Marshal(g)
						wj, _ := json.Marshal(w)
						t.Errorf("client %s, value %d: got %.1500s\nwant %.1500s", name, i, gj, wj)
					}
				}
			}
		})
	}
}
