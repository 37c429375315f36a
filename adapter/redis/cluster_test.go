package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
	"github.com/redis/rueidis"
)

type node struct {
	c  *Client
	ns *testNS
	a  *Adapter
}

func newNode(t testing.TB, c *Client, nsp string) *node {
	t.Helper()
	ns := newTestNS(nsp)
	a, err := c.NewAdapter(ns)
	if err != nil {
		t.Fatal(err)
	}
	ns.a = a
	t.Cleanup(func() { a.Close(context.Background()) })
	return &node{c: c, ns: ns, a: a.(*Adapter)}
}

// eventually polls cond until it holds, failing t after 5 s (with the state
// described by the optional state funcs).
func eventually(t testing.TB, what string, cond func() bool, state ...func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, s := range state {
				what += "; " + s()
			}
			t.Fatalf("condition never held: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type modeCase struct {
	name string
	mode Mode
	sub  SubscriptionMode
}

var modeCases = []modeCase{
	{"classic", Classic, Dynamic},
	{"sharded-dynamic", Sharded, Dynamic},
	{"sharded-static", Sharded, Static},
	{"sharded-dynamic-private", Sharded, DynamicPrivate},
}

// sid returns a 20-character socket id, like base64id's.
func sid(s string) string { return fmt.Sprintf("%-20s", s)[:20] }

func ev(name string, args ...any) *parser.Packet {
	return &parser.Packet{Type: parser.Event, Event: name, Args: args}
}

func received(n *node, id string) []string { return n.ns.events(id) }

func sortedEvents(n *node, id string) []string {
	e := n.ns.events(id)
	slices.Sort(e)
	return e
}

// TestTwoNodes runs every cluster operation between two Go servers on one Redis,
// in each mode.
func TestTwoNodes(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases {
		t.Run(mc.name, func(t *testing.T) { runTwoNodes(t, srv.URL(), mc) })
	}
}

// TestTwoNodesRedisCluster runs the same on a 3-master Redis Cluster.
func TestTwoNodesRedisCluster(t *testing.T) {
	c := testutil.StartRedisCluster(t, 3)
	addrs := c.Addrs()
	url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
	for _, mc := range modeCases {
		t.Run(mc.name, func(t *testing.T) { runTwoNodes(t, url, mc) })
	}
}

func runTwoNodes(t *testing.T, url string, mc modeCase) {
	key := "two" + strconv.FormatInt(keySeq.Add(1), 10)
	o := Options{Mode: mc.mode, SubscriptionMode: mc.sub, Key: key}
	n1 := newNode(t, newTestClient(t, url, o), "/")
	n2 := newNode(t, newTestClient(t, url, o), "/")
	a1, a2 := sid("a1"), sid("a2")
	n1.ns.connect(t, a1, "room1")
	n2.ns.connect(t, a2, "room1", "room2")
	b2 := sid("b2")
	n2.ns.connect(t, b2, "room3")
	ctx := context.Background()

	if n, err := n1.a.ServerCount(ctx); err != nil || n != 2 {
		t.Fatalf("ServerCount %d %v", n, err)
	}
	// Dynamic room subscriptions are asynchronous (Node's tests wait 50 ms).
	waitRoomChannels(t, n2, 1, "room2", "room3", a2, b2)
	waitRoomChannels(t, n1, 1, a1)
	waitRoomChannels(t, n1, 2, "room1")

	// broadcast to all
	if err := n1.a.Broadcast(ctx, ev("all", 1, []byte{3, 4}), nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "all", func() bool {
		return slices.Equal(received(n2, a2), []string{"all"}) && slices.Equal(received(n2, b2), []string{"all"})
	})
	if !slices.Equal(received(n1, a1), []string{"all"}) {
		t.Fatalf("local: %v", received(n1, a1))
	}
	if p := n2.ns.packet("all"); p == nil || len(p.Args) != 2 || p.Args[0] != float64(1) ||
		!bytes.Equal(p.Args[1].([]byte), []byte{3, 4}) || p.Namespace != "/" || p.Type != parser.Event {
		t.Fatalf("remote packet %+v", p)
	}
	// to one room, and except
	n1.a.Broadcast(ctx, ev("r2"), &adapter.BroadcastOptions{Rooms: []string{"room2"}})
	n1.a.Broadcast(ctx, ev("ex"), &adapter.BroadcastOptions{Except: []string{"room2"}})
	n1.a.Broadcast(ctx, ev("sid"), &adapter.BroadcastOptions{Rooms: []string{b2}})
	// Messages on different channels may arrive in any order in a Redis
	// Cluster (they are published on different nodes): compare as sets.
	eventually(t, "rooms", func() bool {
		return slices.Equal(sortedEvents(n2, a2), []string{"all", "r2"}) &&
			slices.Equal(sortedEvents(n2, b2), []string{"all", "ex", "sid"})
	}, func() string {
		return fmt.Sprintf("a2 %v b2 %v stats %+v", received(n2, a2), received(n2, b2), n2.c.Stats())
	})
	// local flag: not published
	n1.a.Broadcast(ctx, ev("local"), &adapter.BroadcastOptions{Flags: adapter.Flags{Local: true}})
	n1.a.Broadcast(ctx, ev("end"), &adapter.BroadcastOptions{Rooms: []string{b2}})
	eventually(t, "local", func() bool { return len(received(n2, b2)) == 4 })
	if got := received(n2, b2); got[3] != "end" {
		t.Fatalf("local broadcast crossed: %v", got)
	}

	// broadcast with ack: each server reports its count, then the acks.
	var mu sync.Mutex
	counts, acks := 0, []any{}
	err := n1.a.BroadcastWithAck(ctx, ev("ack"), &adapter.BroadcastOptions{Rooms: []string{"room1"},
		Flags: adapter.Flags{Timeout: 2 * time.Second}},
		func(n int, _ []string) { mu.Lock(); counts += n; mu.Unlock() },
		func(_ string, args []any) { mu.Lock(); acks = append(acks, args...); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote delivery with ack", func() bool { return slices.Contains(received(n2, a2), "ack") })
	n1.ns.answer(a1, "one")
	n2.ns.answer(a2, "two")
	eventually(t, "acks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return counts == 2 && len(acks) == 2
	})

	// fetchSockets
	infos, err := n1.a.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"room1"}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range infos {
		ids = append(ids, s.ID)
		if s.ID == a2 && (s.Local || s.Handshake == nil || s.Handshake.Address != "127.0.0.1" ||
			!slices.Contains(s.Rooms, "room2")) {
			t.Fatalf("remote socket %+v", s)
		}
	}
	slices.Sort(ids)
	if want := []string{a1, a2}; !slices.Equal(ids, want) {
		t.Fatalf("fetch %q want %q", ids, want)
	}

	// socketsJoin / socketsLeave
	if err := n1.a.AddSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"room1"}}, []string{"joined"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(n1.a.SocketRooms(a1), "joined") {
		t.Fatal("not applied locally at once")
	}
	eventually(t, "remote join", func() bool { return slices.Contains(n2.a.SocketRooms(a2), "joined") })
	n2.a.DelSockets(ctx, &adapter.BroadcastOptions{}, []string{"joined"})
	eventually(t, "remote leave", func() bool { return !slices.Contains(n1.a.SocketRooms(a1), "joined") })

	// serverSideEmit, with and without ack
	if err := n1.a.ServerSideEmit(ctx, []any{"hello", 1}); err != nil {
		t.Fatal(err)
	}
	answers, err := n1.a.ServerSideEmitWithAck(ctx, []any{"q"})
	if err != nil || len(answers) != 1 || answers[0] != "ok" {
		t.Fatalf("answers %v %v", answers, err)
	}
	if got := n2.ns.emitted(); len(got) != 2 || got[0][0] != "hello" || got[0][1] != float64(1) || got[1][0] != "q" {
		t.Fatalf("remote emits %v", got)
	}
	if got := n1.ns.emitted(); len(got) != 0 {
		t.Fatalf("server-side emit dispatched on its sender: %v", got)
	}

	// disconnectSockets
	if err := n1.a.DisconnectSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"room3"}}, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote disconnect", func() bool { return !n2.ns.connected(b2) })
	if !n2.ns.connected(a2) {
		t.Fatal("disconnected a socket outside the room")
	}
}

// A server that does not answer makes requests end with a TimeoutError that
// counts the answers.
func TestRequestTimeout(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			key := "to" + strconv.FormatInt(keySeq.Add(1), 10)
			o := Options{Mode: mc.mode, Key: key, RequestsTimeout: 300 * time.Millisecond}
			n1 := newNode(t, newTestClient(t, srv.URL(), o), "/")
			newNode(t, newTestClient(t, srv.URL(), o), "/")
			// A silent subscriber: counted by NUMSUB, never answers.
			silent := newTestClient(t, srv.URL(), o)
			ctx := context.Background()
			ch := requestChannel(key, "/")
			if mc.mode == Sharded {
				ch = shardedChannel(key, "/")
			}
			sctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				silent.receive(sctx, "/", subscription{build: func(b rueidis.Builder) rueidis.Completed {
					if mc.mode == Sharded {
						return b.Ssubscribe().Channel(ch).Build()
					}
					return b.Subscribe().Channel(ch).Build()
				}}, func(rueidis.PubSubMessage) {}, func() {})
			}()
			defer func() { cancel(); <-done }()
			eventually(t, "3 servers", func() bool { n, _ := n1.a.ServerCount(ctx); return n == 3 })
			answers, err := n1.a.ServerSideEmitWithAck(ctx, []any{"q"})
			var te *adapter.TimeoutError
			if !errors.As(err, &te) || te.Got != 1 || te.Expected != 2 || len(answers) != 1 {
				t.Fatalf("answers %v err %v", answers, err)
			}
			_, err = n1.a.FetchSockets(ctx, nil)
			if !errors.As(err, &te) || te.Expected != 2 {
				t.Fatalf("fetch err %v", err)
			}
		})
	}
}

// Pitfall: NUMSUB counts connections, so one Client must use one subscriber
// connection for all its namespaces.
func TestOneSubscriberConnection(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			key := "one" + strconv.FormatInt(keySeq.Add(1), 10)
			o := Options{Mode: mc.mode, Key: key}
			c := newTestClient(t, srv.URL(), o)
			n := newNode(t, c, "/")
			newNode(t, c, "/admin")
			newNode(t, c, "/chat")
			ctx := context.Background()
			if got, err := n.a.ServerCount(ctx); err != nil || got != 1 {
				t.Fatalf("ServerCount %d %v", got, err)
			}
			out, err := srv.Command("CLIENT", "LIST")
			if err != nil {
				t.Fatal(err)
			}
			subs := 0
			for _, line := range splitLines(out) {
				if containsAll(line, "name=corvid") && !containsAll(line, "sub=0 psub=0 ssub=0") {
					subs++
				}
			}
			if subs != 1 {
				t.Fatalf("%d subscribed connections, want 1:\n%s", subs, out)
			}
		})
	}
}

func splitLines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

// waitRoomChannels waits until Redis has a subscriber for each room channel the
// node should have in its sharded dynamic mode.
func waitRoomChannels(t testing.TB, n *node, want int, rooms ...string) {
	t.Helper()
	if !n.a.dynamic() {
		return
	}
	for _, r := range rooms {
		if n.a.opts.SubscriptionMode == Dynamic && looksLikeASocketID(r) {
			continue
		}
		ch := shardedSubChannel(n.a.key, n.a.nsp, r)
		eventually(t, "subscription to "+ch, func() bool {
			c, err := n.c.numSub(context.Background(), ch)
			return err == nil && c >= want
		})
	}
}

// A server-side emit handler may itself make a cluster request: it runs off
// the goroutine that reads the answers.
func TestServerSideEmitHandlerMakesRequest(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			o := Options{Mode: mc.mode, Key: "nest" + strconv.FormatInt(keySeq.Add(1), 10)}
			c1, c2 := newTestClient(t, srv.URL(), o), newTestClient(t, srv.URL(), o)
			n1 := newNode(t, c1, "/")
			ns2 := &nestingNS{testNS: newTestNS("/")}
			a2, err := c2.NewAdapter(ns2)
			if err != nil {
				t.Fatal(err)
			}
			ns2.a = a2
			defer a2.Close(context.Background())
			ctx := context.Background()
			answers, err := n1.a.ServerSideEmitWithAck(ctx, []any{"q"})
			if err != nil || len(answers) != 1 || answers[0] != float64(1) {
				t.Fatalf("answers %v %v", answers, err)
			}
		})
	}
}

// nestingNS answers a server-side emit with the number of answers to its own
// server-side emit (the other server answers "ok").
type nestingNS struct{ *testNS }

func (n *nestingNS) ServerSideEmit(args []any, ack func(any)) {
	answers, err := n.a.ServerSideEmitWithAck(context.Background(), []any{"inner"})
	if err != nil {
		ack(err.Error())
		return
	}
	ack(len(answers))
}
