package conformance

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/internal/testutil"
)

// npm @socket.io/redis-emitter reaches the clients of a Go server, and our
// Emitter reaches the clients of a Node server (classic protocol).
func TestRedisEmitters(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mode := range []string{"classic", "classic-json"} {
		t.Run(mode, func(t *testing.T) {
			codec := wire.Msgpack
			if mode == "classic-json" {
				codec = wire.JSON
			}
			runEmitters(t, srv, startMixed(t, srv.URL(), srv.URL(), mode), codec)
		})
	}
}

func runEmitters(t *testing.T, srv *testutil.RedisServer, m *mixedCluster, codec wire.Codec) {
	n, g := m.n, m.g
	// ---- npm emitter -> Go server ----
	n.do(t, map[string]any{"op": "emitter", "action": "emit", "event": "e-all", "args": []any{1, map[string]any{"$bin": []int{7}}}})
	if args := n.waitEvent(t, "g1", "e-all"); !reflect.DeepEqual(args, []any{1.0, bufferJSON(7)}) {
		t.Fatalf("e-all args %#v", args)
	}
	n.do(t, map[string]any{"op": "emitter", "action": "emit", "event": "e-r1", "rooms": []string{"room1"}, "except": []string{m.ids["n1"]}})
	n.do(t, map[string]any{"op": "emitter", "action": "emit", "event": "e-one", "rooms": []string{m.ids["g2"]}})
	n.do(t, map[string]any{"op": "emitter", "action": "emit", "event": "e-custom", "nsp": "custom"})
	n.waitEvent(t, "g1", "e-r1")
	n.waitEvent(t, "g2", "e-one")
	n.waitEvent(t, "gc", "e-custom")
	if ev := n.events(t, "n1"); slices.Contains(ev, "e-r1") {
		t.Fatalf("except ignored: %v", ev)
	}
	root := g.srv.Of("/")
	goRooms := func(id string) []string {
		if s := root.Socket(id); s != nil {
			return s.Rooms()
		}
		return nil
	}
	n.do(t, map[string]any{"op": "emitter", "action": "join", "rooms": []string{"room1"}, "join": []string{"ej"}})
	waitFor(t, "emitter socketsJoin", func() bool { return slices.Contains(goRooms(m.ids["g1"]), "ej") })
	n.do(t, map[string]any{"op": "emitter", "action": "leave", "join": nil, "leave": []string{"ej"}})
	waitFor(t, "emitter socketsLeave", func() bool { return !slices.Contains(goRooms(m.ids["g1"]), "ej") })
	n.do(t, map[string]any{"op": "emitter", "action": "sse", "args": []any{"from-emitter"}})
	waitFor(t, "emitter serverSideEmit", func() bool {
		for _, e := range g.sse() {
			if len(e) == 2 && e[1] == "from-emitter" {
				return true
			}
		}
		return false
	})

	// ---- our Emitter -> Node server (and the Go one) ----
	ctx := context.Background()
	e, err := redis.DialEmitter(ctx, srv.URL(), &redis.EmitterOptions{Key: m.key, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Emit(ctx, "ge-all", 1, []byte{8, 9})
	if args := n.waitEvent(t, "n1", "ge-all"); !reflect.DeepEqual(args, []any{1.0, bufferJSON(8, 9)}) {
		t.Fatalf("ge-all args %#v", args)
	}
	n.waitEvent(t, "g2", "ge-all")
	e.To("room2").Except(m.ids["g2"]).Emit(ctx, "ge-r2")
	e.Of("custom").Emit(ctx, "ge-custom")
	n.waitEvent(t, "n2", "ge-r2")
	n.waitEvent(t, "nc", "ge-custom")
	nodeRooms := func(id string) []string {
		var r []string
		json.Unmarshal(n.do(t, map[string]any{"op": "rooms", "id": id}), &r)
		return r
	}
	e.To("room1").SocketsJoin(ctx, "gej")
	waitFor(t, "Emitter socketsJoin", func() bool {
		return slices.Contains(nodeRooms(m.ids["n1"]), "gej") && slices.Contains(goRooms(m.ids["g1"]), "gej")
	})
	e.SocketsLeave(ctx, "gej")
	waitFor(t, "Emitter socketsLeave", func() bool { return !slices.Contains(nodeRooms(m.ids["n1"]), "gej") })
	e.ServerSideEmit(ctx, "sse", "from-go-emitter")
	waitFor(t, "Emitter serverSideEmit", func() bool {
		return strings.Contains(string(n.do(t, map[string]any{"op": "sse"})), "from-go-emitter")
	})
	e.To("room1").DisconnectSockets(ctx, false)
	waitFor(t, "Emitter disconnectSockets", func() bool {
		return slices.Contains(n.client(t, "n1").Disconnects, "io server disconnect") &&
			slices.Contains(n.client(t, "g1").Disconnects, "io server disconnect")
	})
	if ev := n.events(t, "g2"); slices.Contains(ev, "ge-r2") {
		t.Fatalf("Emitter except ignored: %v", ev)
	}
}
