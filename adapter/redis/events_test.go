package redis

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
)

// bigHeadersNS gives its sockets request headers of about size bytes.
type bigHeadersNS struct {
	*testNS
	size int
}

func (b *bigHeadersNS) SocketInfo(id string) (adapter.SocketInfo, bool) {
	si, ok := b.testNS.SocketInfo(id)
	if ok {
		h := *si.Handshake
		h.Headers = http.Header{"Cookie": {strings.Repeat("c", b.size)}}
		si.Handshake = &h
	}
	return si, ok
}

// TestReplyTooLarge: a server whose answer to fetchSockets, to a server-side
// emit with ack or to allRooms (classic) would exceed its MaxReplySize does
// not send it, reports it, and sends a refusal instead: the requester's call
// fails at once (well before RequestsTimeout) with a *ReplyTooLargeError
// naming the server, the size and the limit. Smaller answers of the same
// server go through.
func TestReplyTooLarge(t *testing.T) {
	srv := testutil.StartRedis(t)
	const limit = 4096
	const timeout = 5 * time.Second
	cases := []struct {
		name string
		make func(t *testing.T, log *eventLog) pair
	}{
		{"classic", clientPair(srv, Classic, limit, timeout)},
		{"sharded", clientPair(srv, Sharded, limit, timeout)},
		{"streams", func(t *testing.T, log *eventLog) pair {
			name := streamsName()
			st1 := newTestStreams(t, srv.URL(), name, StreamsOptions{RequestsTimeout: timeout})
			st2 := newTestStreams(t, srv.URL(), name, StreamsOptions{RequestsTimeout: timeout, MaxReplySize: limit, OnEvent: log.add})
			return pair{st1.NewAdapter, st2.NewAdapter, st2.Stats}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log eventLog
			p := tc.make(t, &log)
			ns1 := newTestNS("/")
			a1, err := p.f1(ns1)
			if err != nil {
				t.Fatal(err)
			}
			ns1.a = a1
			t.Cleanup(func() { a1.Close(context.Background()) })
			ns2 := &bigHeadersNS{testNS: newTestNS("/"), size: 2 * limit}
			a2, err := p.f2(ns2)
			if err != nil {
				t.Fatal(err)
			}
			ns2.a = a2
			t.Cleanup(func() { a2.Close(context.Background()) })
			uid2 := uidOf(a2)
			big := sid("big")
			ns2.connect(t, big, "big")
			ns2.mu.Lock()
			ns2.sseReply = strings.Repeat("x", 2*limit)
			ns2.mu.Unlock()
			ctx := context.Background()

			refused := func(op string, err error, start time.Time) {
				t.Helper()
				var re *ReplyTooLargeError
				if !errors.As(err, &re) || !errors.Is(err, ErrReplyTooLarge) {
					t.Fatalf("%s: err %v, want a *ReplyTooLargeError", op, err)
				}
				if re.Op != op || re.Server != uid2 || re.Size <= limit || re.Limit != limit {
					t.Fatalf("%s: %+v", op, re)
				}
				if d := time.Since(start); d > timeout/5 {
					t.Fatalf("%s: the refusal took %v (RequestsTimeout %v)", op, d, timeout)
				}
			}
			start := time.Now()
			_, err = a1.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			refused("fetchSockets", err, start)
			start = time.Now()
			_, err = a1.ServerSideEmitWithAck(ctx, []any{"ev"})
			refused("serverSideEmit", err, start)
			want := 2
			if ra, ok := a1.(*Adapter); ok && !ra.sharded {
				rooms := make([]string, limit/8)
				for i := range rooms {
					rooms[i] = "room-" + strconv.Itoa(i)
				}
				if err := a2.AddAll(ctx, big, rooms); err != nil {
					t.Fatal(err)
				}
				start = time.Now()
				_, err = ra.AllRooms(ctx)
				refused("allRooms", err, start)
				want++
				if err := a2.DelAll(ctx, big); err != nil {
					t.Fatal(err)
				}
				ns2.a.AddAll(ctx, big, []string{big, "big"})
			}
			if log.count(EventReplyTooLarge) != want || p.stats().RepliesTooLarge != uint64(want) {
				t.Fatalf("events %+v stats %+v", log.events, p.stats())
			}
			log.mu.Lock()
			e := log.events[slices.IndexFunc(log.events, func(e Event) bool { return e.Kind == EventReplyTooLarge })]
			log.mu.Unlock()
			if e.Op != "fetchSockets" || e.Size <= limit || e.Nsp != "/" {
				t.Fatalf("event %+v", e)
			}
			// The same server still answers what fits.
			ns2.mu.Lock()
			ns2.size = 10
			ns2.sseReply = "ok"
			ns2.mu.Unlock()
			got, err := a1.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			if err != nil || len(got) != 1 {
				t.Fatalf("small answer: %v %v", got, err)
			}
			answers, err := a1.ServerSideEmitWithAck(ctx, []any{"ev"})
			if err != nil || len(answers) != 1 {
				t.Fatalf("small ack: %v %v", answers, err)
			}
			if ra, ok := a1.(*Adapter); ok && !ra.sharded {
				if rooms, err := ra.AllRooms(ctx); err != nil || len(rooms) != 2 {
					t.Fatalf("small allRooms: %v %v", rooms, err)
				}
			}
		})
	}
}

// uidOf returns the uid of a Redis or Streams adapter.
func uidOf(a adapter.Adapter) string {
	switch x := a.(type) {
	case *Adapter:
		return x.uid
	case *StreamsAdapter:
		return x.uid
	}
	return ""
}

// pair is two servers' adapter factories on one Redis, and the counters of
// the second.
type pair struct {
	f1, f2 adapter.Factory
	stats  func() Stats
}

// clientPair makes a pair of Clients in mode; the second has the limit
// MaxReplySize and reports to log.
func clientPair(srv *testutil.RedisServer, mode Mode, limit int, timeout time.Duration) func(*testing.T, *eventLog) pair {
	return func(t *testing.T, log *eventLog) pair {
		o := Options{Mode: mode, Key: "big" + strconv.FormatInt(keySeq.Add(1), 10), RequestsTimeout: timeout}
		c1 := newTestClient(t, srv.URL(), o)
		o.OnEvent, o.MaxReplySize = log.add, limit
		c2 := newTestClient(t, srv.URL(), o)
		return pair{c1.NewAdapter, c2.NewAdapter, c2.Stats}
	}
}

// A Node requester (npm @socket.io/redis-adapter, classic and sharded, and
// @socket.io/redis-streams-adapter) of a Go
// server whose answers are over its MaxReplySize gets the refusals as empty
// answers and completes without error and without waiting for its timeout.
func TestReplyTooLargeNodeRequester(t *testing.T) {
	srv := testutil.StartRedis(t)
	const limit = 4096
	for _, mode := range []string{"classic", "sharded", "streams"} {
		t.Run(mode, func(t *testing.T) {
			var log eventLog
			key := "node" + strconv.FormatInt(keySeq.Add(1), 10)
			var f adapter.Factory
			switch mode {
			case "streams":
				f = newTestStreams(t, srv.URL(), key, StreamsOptions{MaxReplySize: limit, OnEvent: log.add}).NewAdapter
			default:
				o := Options{Key: key, MaxReplySize: limit, OnEvent: log.add}
				if mode == "sharded" {
					o.Mode = Sharded
				}
				f = newTestClient(t, srv.URL(), o).NewAdapter
			}
			ns := &bigHeadersNS{testNS: newTestNS("/"), size: 2 * limit}
			a, err := f(ns)
			if err != nil {
				t.Fatal(err)
			}
			ns.a = a
			t.Cleanup(func() { a.Close(context.Background()) })
			rooms := []string{"big"}
			for i := range limit / 8 {
				rooms = append(rooms, "room-"+strconv.Itoa(i))
			}
			ns.connect(t, sid("big"), rooms...)
			ns.mu.Lock()
			ns.sseReply = strings.Repeat("x", 2*limit)
			ns.mu.Unlock()

			p := testutil.StartNode(t, "adapter/redis/testdata/reply_too_large.js", srv.URL(), mode, key)
			p.WaitLine(t, "done", 30*time.Second)
			type line struct {
				Op     string
				OK     bool
				MS     int
				Result json.RawMessage
				Error  string
			}
			got := map[string]line{}
			for _, l := range p.Lines() {
				var x line
				if json.Unmarshal([]byte(l), &x) == nil && x.Op != "" {
					got[x.Op] = x
				}
			}
			want := map[string]string{"fetchSockets": "[]", "serverSideEmitWithAck": "[null]"}
			if mode == "classic" {
				want["allRooms"] = "[]"
			}
			for op, result := range want {
				x, ok := got[op]
				if !ok || !x.OK || string(x.Result) != result {
					t.Errorf("%s: %+v (result %s), want ok with %s", op, x, x.Result, result)
					continue
				}
				// Node's timeouts are 3 s (classic) and 5 s (sharded, streams).
				if x.MS > 1500 {
					t.Errorf("%s took %d ms: it waited for its timeout", op, x.MS)
				}
			}
			if n := log.count(EventReplyTooLarge); n != len(want) {
				t.Errorf("%d EventReplyTooLarge, want %d", n, len(want))
			}
		})
	}
}
