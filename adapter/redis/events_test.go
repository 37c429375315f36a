package redis

import (
	"context"
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

// TestReplyTooLarge: a server whose answer to fetchSockets would exceed
// MaxReplySize (the default, 1 MiB) does not send it and reports it; the
// requester gets a timeout error naming the missing answer; smaller answers
// of the same server go through.
func TestReplyTooLarge(t *testing.T) {
	srv := testutil.StartRedis(t)
	cases := []struct {
		name string
		make func(t *testing.T, log *eventLog) pair
	}{
		{"classic", clientPair(srv, Classic)},
		{"sharded", clientPair(srv, Sharded)},
		{"streams", func(t *testing.T, log *eventLog) pair {
			name := streamsName()
			st1 := newTestStreams(t, srv.URL(), name, StreamsOptions{RequestsTimeout: time.Second})
			st2 := newTestStreams(t, srv.URL(), name, StreamsOptions{RequestsTimeout: time.Second, OnEvent: log.add})
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
			ns2 := &bigHeadersNS{testNS: newTestNS("/"), size: 3 << 19} // 1.5 MiB
			a2, err := p.f2(ns2)
			if err != nil {
				t.Fatal(err)
			}
			ns2.a = a2
			t.Cleanup(func() { a2.Close(context.Background()) })
			ns2.connect(t, sid("big"), "big")
			ctx := context.Background()

			_, err = a1.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			var te *adapter.TimeoutError
			if !errors.As(err, &te) || te.Got != 0 || te.Expected != 1 {
				t.Fatalf("FetchSockets of a 1.5 MiB answer: err %v, want a TimeoutError with 0 of 1 answers", err)
			}
			if log.count(EventReplyTooLarge) != 1 || p.stats().RepliesTooLarge != 1 {
				t.Fatalf("events %+v stats %+v", log.events, p.stats())
			}
			log.mu.Lock()
			e := log.events[slices.IndexFunc(log.events, func(e Event) bool { return e.Kind == EventReplyTooLarge })]
			log.mu.Unlock()
			if e.Op != "fetchSockets" || e.Size <= DefaultMaxReplySize || e.Nsp != "/" {
				t.Fatalf("event %+v", e)
			}
			// The same server still answers what fits.
			ns2.size = 10
			got, err := a1.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			if err != nil || len(got) != 1 {
				t.Fatalf("small answer: %v %v", got, err)
			}
		})
	}
}

// pair is two servers' adapter factories on one Redis, and the counters of
// the second.
type pair struct {
	f1, f2 adapter.Factory
	stats  func() Stats
}

// clientPair makes a pair of Clients in mode; the second reports to log.
func clientPair(srv *testutil.RedisServer, mode Mode) func(*testing.T, *eventLog) pair {
	return func(t *testing.T, log *eventLog) pair {
		o := Options{Mode: mode, Key: "big" + strconv.FormatInt(keySeq.Add(1), 10), RequestsTimeout: time.Second}
		c1 := newTestClient(t, srv.URL(), o)
		o.OnEvent = log.add
		c2 := newTestClient(t, srv.URL(), o)
		return pair{c1.NewAdapter, c2.NewAdapter, c2.Stats}
	}
}
