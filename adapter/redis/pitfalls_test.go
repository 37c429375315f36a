package redis

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/redis/rueidis"
)

// rawSub subscribes a plain rueidis client to channels (SSUBSCRIBE when
// sharded) and records what arrives, as a Node peer would see it.
type rawSub struct {
	mu   sync.Mutex
	msgs []rueidis.PubSubMessage
}

func newRawSub(t *testing.T, srv *testutil.RedisServer, sharded bool, channels ...string) *rawSub {
	t.Helper()
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	r := &rawSub{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{}, len(channels))
	done := make(chan struct{})
	go func() {
		defer close(done)
		var cmd rueidis.Completed
		if sharded {
			cmd = rc.B().Ssubscribe().Channel(channels...).Build()
		} else {
			cmd = rc.B().Subscribe().Channel(channels...).Build()
		}
		rctx := rueidis.WithOnSubscriptionHook(ctx, func(rueidis.PubSubSubscription) { ready <- struct{}{} })
		rc.Receive(rctx, cmd, func(m rueidis.PubSubMessage) {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
		})
	}()
	t.Cleanup(func() { cancel(); <-done; rc.Close() })
	for range channels {
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			t.Fatal("raw subscription not confirmed")
		}
	}
	return r
}

func (r *rawSub) messages() []rueidis.PubSubMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rueidis.PubSubMessage(nil), r.msgs...)
}

func (r *rawSub) wait(t *testing.T, n int) []rueidis.PubSubMessage {
	t.Helper()
	eventually(t, strconv.Itoa(n)+" raw messages", func() bool { return len(r.messages()) >= n })
	return r.messages()
}

// Pitfall: Node's parser would print "5undefined-..." for a BINARY_EVENT
// without attachments: binary broadcasts go out as type 2 with bin values.
func TestPitfallNoBinaryPacketType(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()

	c := newTestClient(t, srv.URL(), Options{Key: "bin"})
	n := newNode(t, c, "/")
	raw := newRawSub(t, srv, false, classicChannel("bin", "/"), requestChannel("bin", "/"))
	n.a.Broadcast(ctx, ev("b", []byte{1, 2}), nil)
	n.a.BroadcastWithAck(ctx, ev("b", []byte{1, 2}), nil, func(int, []string) {}, func(string, []any) {})
	msgs := raw.wait(t, 2)
	b, err := wire.DecodeBroadcast([]byte(msgs[0].Message))
	if err != nil || b.Packet.Type != 2 || !bytes.Equal(b.Packet.Data[1].([]byte), []byte{1, 2}) {
		t.Fatalf("broadcast %+v %v", b, err)
	}
	r, err := wire.DecodeRequest([]byte(msgs[1].Message))
	if err != nil || r.Type != wire.BroadcastWithAck || r.Packet.Type != 2 || !bytes.Equal(r.Packet.Data[1].([]byte), []byte{1, 2}) {
		t.Fatalf("broadcast with ack %+v %v", r, err)
	}

	cs := newTestClient(t, srv.URL(), Options{Key: "sbin", Mode: Sharded})
	ns := newNode(t, cs, "/")
	rawS := newRawSub(t, srv, true, shardedChannel("sbin", "/"))
	ns.a.Broadcast(ctx, ev("b", []byte{1, 2}), nil)
	m, err := wire.DecodeClusterMessage([]byte(rawS.wait(t, 1)[0].Message))
	if err != nil || m.Packet.Type != 2 || !bytes.Equal(m.Packet.Data[1].([]byte), []byte{1, 2}) {
		t.Fatalf("sharded broadcast %+v %v", m, err)
	}
}

// Pitfall: every subscribed server must answer a BROADCAST (7) with exactly one
// client count, even 0, or the Node requester waits until its timeout; lists
// are [] and never null.
func TestPitfallAnswersNodeRequests(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	c := newTestClient(t, srv.URL(), Options{Key: "ans"})
	newNode(t, c, "/")
	raw := newRawSub(t, srv, false, responseChannel("ans", "/"))
	publish := func(r *wire.Request) {
		payload, err := wire.AppendRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.publish(ctx, "/", "test", requestChannel("ans", "/"), payload, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	publish(&wire.Request{UID: "NoDe01", RequestID: "req7", Type: wire.BroadcastWithAck,
		Packet: &wire.Packet{Type: 2, Data: []any{"x"}, Nsp: "/"}, Opts: &wire.Opts{Rooms: []string{"nobody"}, Flags: &wire.Flags{Timeout: 1000}}})
	publish(&wire.Request{UID: "NoDe01", RequestID: "req5", Type: wire.RemoteFetch, Opts: &wire.Opts{Rooms: []string{"nobody"}}})
	publish(&wire.Request{UID: "NoDe01", RequestID: "req1", Type: wire.AllRooms})
	publish(&wire.Request{UID: "NoDe01", RequestID: "req6", Type: wire.ServerSideEmit, Data: []any{"sse"}})
	raw.wait(t, 4)
	time.Sleep(100 * time.Millisecond) // nothing more may come
	msgs := raw.messages()
	want := []string{
		`{"type":8,"requestId":"req7","clientCount":0}`,
		`{"requestId":"req5","sockets":[]}`,
		`{"requestId":"req1","rooms":[]}`,
		`{"type":6,"requestId":"req6","data":"ok"}`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d answers: %v", len(msgs), msgs)
	}
	for i, m := range msgs {
		if m.Message != want[i] {
			t.Errorf("answer %d: %s, want %s", i, m.Message, want[i])
		}
	}
}

// Pitfall: the classic pattern is built from the namespace name; glob
// characters are escaped so that "/a*" does not receive the traffic of "/ab".
func TestPitfallGlobEscape(t *testing.T) {
	srv := testutil.StartRedis(t)
	c := newTestClient(t, srv.URL(), Options{Key: "glob"})
	newNode(t, c, "/a*")
	before := c.Stats().Received
	srv.Command("PUBLISH", classicChannel("glob", "/ab"), "x")
	srv.Command("PUBLISH", classicChannel("glob", "/a*"), "y")
	eventually(t, "own channel received", func() bool { return c.Stats().Received == before+1 })
	time.Sleep(50 * time.Millisecond)
	if got := c.Stats().Received; got != before+1 {
		t.Fatalf("received %d messages, want 1", got-before)
	}
}

// Pitfall: in the sharded dynamic mode a broadcast to a 20-character room is
// taken for a socket id and published on the main channel (Node's heuristic),
// other single rooms on their own channel.
func TestPitfallDynamicSocketIDRoom(t *testing.T) {
	srv := testutil.StartRedis(t)
	c := newTestClient(t, srv.URL(), Options{Key: "dyn", Mode: Sharded})
	n := newNode(t, c, "/")
	main := newRawSub(t, srv, true, shardedChannel("dyn", "/"))
	room := newRawSub(t, srv, true, shardedSubChannel("dyn", "/", "room"))
	ctx := context.Background()
	n.a.Broadcast(ctx, ev("to-sid"), &adapter.BroadcastOptions{Rooms: []string{sid("x")}})
	n.a.Broadcast(ctx, ev("to-room"), &adapter.BroadcastOptions{Rooms: []string{"room"}})
	n.a.Broadcast(ctx, ev("two"), &adapter.BroadcastOptions{Rooms: []string{"room", "other"}})
	m := main.wait(t, 2)
	r := room.wait(t, 1)
	if len(m) != 2 || len(r) != 1 {
		t.Fatalf("main %v room %v", m, r)
	}
	if !bytes.Contains([]byte(r[0].Message), []byte(`"to-room"`)) || !bytes.Contains([]byte(m[0].Message), []byte(`"to-sid"`)) {
		t.Fatalf("main %v room %v", m, r)
	}
}

// Old nodes' requests: SOCKETS (0) and the single-socket join/leave/disconnect
// format are answered.
func TestOldRequests(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	c := newTestClient(t, srv.URL(), Options{Key: "old"})
	n := newNode(t, c, "/")
	a := sid("a")
	n.ns.connect(t, a, "r")
	raw := newRawSub(t, srv, false, responseChannel("old", "/"))
	for _, r := range []*wire.Request{
		{UID: "NoDe01", RequestID: "s0", Type: wire.Sockets, Rooms: []string{"r"}},
		{UID: "NoDe01", RequestID: "j", Type: wire.RemoteJoin, Sid: a, Room: "old-room"},
	} {
		// encode the old form by hand: AppendRequest writes the current one
		var payload []byte
		if r.Type == wire.RemoteJoin {
			payload = []byte(`{"uid":"NoDe01","requestId":"j","sid":"` + a + `","room":"old-room","type":2}`)
		} else {
			payload, _ = wire.AppendRequest(nil, r)
		}
		if err := c.publish(ctx, "/", "test", requestChannel("old", "/"), payload, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	msgs := raw.wait(t, 2)
	if msgs[0].Message != `{"requestId":"s0","sockets":["`+a+`"]}` || msgs[1].Message != `{"requestId":"j"}` {
		t.Fatalf("answers %v", msgs)
	}
	if !slices.Contains(n.a.SocketRooms(a), "old-room") {
		t.Fatal("old-format join not applied")
	}
}

// Dynamic sharded subscriptions follow the rooms (create-room/delete-room), and
// Close unsubscribes everything (upstream skips this test; we run it).
func TestDynamicSubscriptionsAndClose(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	for _, mc := range modeCases {
		t.Run(mc.name, func(t *testing.T) {
			key := "sub" + strconv.FormatInt(keySeq.Add(1), 10)
			c := newTestClient(t, srv.URL(), Options{Key: key, Mode: mc.mode, SubscriptionMode: mc.sub})
			n := newNode(t, c, "/")
			a := sid("a")
			n.ns.connect(t, a, "room")
			count := func(ch string) int {
				v, err := c.numSub(ctx, ch)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			roomCh, sidCh := shardedSubChannel(key, "/", "room"), shardedSubChannel(key, "/", a)
			if mc.mode == Sharded {
				wantRoom, wantSid := 0, 0
				if mc.sub != Static {
					wantRoom = 1
				}
				if mc.sub == DynamicPrivate {
					wantSid = 1
				}
				eventually(t, "room subscriptions", func() bool { return count(roomCh) == wantRoom && count(sidCh) == wantSid })
				n.a.Del(ctx, a, "room")
				eventually(t, "room unsubscribed", func() bool { return count(roomCh) == 0 })
			}
			n.a.Close(ctx)
			eventually(t, "no subscription left", func() bool {
				out, err := srv.Command("CLIENT", "LIST")
				if err != nil {
					t.Fatal(err)
				}
				for _, line := range splitLines(out) {
					if strings.Contains(line, "name=corvid") && !containsAll(line, "sub=0", "psub=0", "ssub=0") {
						return false
					}
				}
				return true
			})
		})
	}
}

// Pitfall (#528, one listener per room): dynamic room subscriptions are
// released with their rooms: no goroutine or subscription is left behind.
func TestDynamicRoomsReleased(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	c, err := DialMode(ctx, srv.URL(), "sharded", &Options{Key: "rel"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n := newNode(t, c, "/")
	a := sid("a")
	n.ns.connect(t, a)
	base := runtime.NumGoroutine()
	var rooms []string
	for i := 0; i < 50; i++ {
		rooms = append(rooms, "room"+strconv.Itoa(i))
	}
	n.a.AddAll(ctx, a, rooms)
	eventually(t, "50 room channels", func() bool {
		for _, r := range rooms {
			if v, _ := c.numSub(ctx, shardedSubChannel("rel", "/", r)); v != 1 {
				return false
			}
		}
		return true
	})
	n.a.DelAll(ctx, a)
	eventually(t, "room channels released", func() bool {
		for _, r := range rooms {
			if v, _ := c.numSub(ctx, shardedSubChannel("rel", "/", r)); v != 0 {
				return false
			}
		}
		return true
	})
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
}
