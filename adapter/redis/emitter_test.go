package redis

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

func TestEmitterReachesGoServers(t *testing.T) {
	srv := testutil.StartRedis(t)
	o := Options{Key: "em"}
	n1 := newNode(t, newTestClient(t, srv.URL(), o), "/")
	n2 := newNode(t, newTestClient(t, srv.URL(), o), "/")
	adm := newNode(t, n2.c, "/admin")
	a1, a2, b2, c2 := sid("a1"), sid("a2"), sid("b2"), sid("c2")
	n1.ns.connect(t, a1, "room1")
	n2.ns.connect(t, a2, "room1", "room2")
	n2.ns.connect(t, b2)
	adm.ns.connect(t, c2, "room1")

	ctx := context.Background()
	e, err := DialEmitter(ctx, srv.URL(), &EmitterOptions{Key: "em"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	if err := e.Emit(ctx, "disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("reserved: %v", err)
	}
	e.Emit(ctx, "all", []byte{1, 2}, map[string]any{"x": 1.5})
	e.To("room1").Except("room2").Volatile().Emit(ctx, "r1")
	e.To(b2).Emit(ctx, "one")
	e.Of("admin").Emit(ctx, "adm")
	eventually(t, "emits", func() bool {
		return slices.Equal(n1.ns.events(a1), []string{"all", "r1"}) &&
			slices.Equal(n2.ns.events(a2), []string{"all"}) &&
			slices.Equal(n2.ns.events(b2), []string{"all", "one"}) &&
			slices.Equal(adm.ns.events(c2), []string{"adm"})
	})
	if p := n2.ns.packet("all"); !bytes.Equal(p.Args[0].([]byte), []byte{1, 2}) || p.Args[1].(map[string]any)["x"] != 1.5 {
		t.Fatalf("args %v", p.Args)
	}

	if err := e.To("room1").SocketsJoin(ctx, "j"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "join", func() bool {
		return slices.Contains(n1.a.SocketRooms(a1), "j") && slices.Contains(n2.a.SocketRooms(a2), "j") &&
			!slices.Contains(n2.a.SocketRooms(b2), "j")
	})
	e.Except(a1).SocketsLeave(ctx, "j")
	eventually(t, "leave", func() bool {
		return slices.Contains(n1.a.SocketRooms(a1), "j") && !slices.Contains(n2.a.SocketRooms(a2), "j")
	})
	e.ServerSideEmit(ctx, "sse", 1)
	eventually(t, "sse", func() bool { return len(n1.ns.emitted()) == 1 && len(n2.ns.emitted()) == 1 })
	e.To("room2").DisconnectSockets(ctx, true)
	eventually(t, "disconnect", func() bool { return !n2.ns.connected(a2) })
	if !n1.ns.connected(a1) || !n2.ns.connected(b2) {
		t.Fatal("disconnected too many")
	}
}

func TestEmitterImmutable(t *testing.T) {
	e := NewEmitter(nil, nil)
	r := e.To("a")
	r.Except("b").Volatile()
	if len(e.rooms) != 0 || len(r.except) != 0 || r.flags.Volatile || e.Of("x").nsp != "/x" || e.Of("/y").nsp != "/y" {
		t.Fatal("emitter builders mutate their receiver")
	}
}
