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
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			var log eventLog
			o := Options{Mode: mc.mode, Key: "big" + strconv.FormatInt(keySeq.Add(1), 10), RequestsTimeout: time.Second}
			c1 := newTestClient(t, srv.URL(), o)
			o.OnEvent = log.add
			c2 := newTestClient(t, srv.URL(), o)
			n1 := newNode(t, c1, "/")
			ns2 := &bigHeadersNS{testNS: newTestNS("/"), size: 3 << 19} // 1.5 MiB
			a2, err := c2.NewAdapter(ns2)
			if err != nil {
				t.Fatal(err)
			}
			ns2.a = a2
			t.Cleanup(func() { a2.Close(context.Background()) })
			ns2.connect(t, sid("big"), "big")
			ctx := context.Background()

			_, err = n1.a.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			var te *adapter.TimeoutError
			if !errors.As(err, &te) || te.Got != 0 || te.Expected != 1 {
				t.Fatalf("FetchSockets of a 1.5 MiB answer: err %v, want a TimeoutError with 0 of 1 answers", err)
			}
			if log.count(EventReplyTooLarge) != 1 || c2.Stats().RepliesTooLarge != 1 {
				t.Fatalf("events %+v stats %+v", log.events, c2.Stats())
			}
			log.mu.Lock()
			e := log.events[slices.IndexFunc(log.events, func(e Event) bool { return e.Kind == EventReplyTooLarge })]
			log.mu.Unlock()
			if e.Op != "fetchSockets" || e.Size <= DefaultMaxReplySize || e.Nsp != "/" {
				t.Fatalf("event %+v", e)
			}
			// The same server still answers what fits.
			ns2.size = 10
			got, err := n1.a.FetchSockets(ctx, &adapter.BroadcastOptions{Rooms: []string{"big"}})
			if err != nil || len(got) != 1 {
				t.Fatalf("small answer: %v %v", got, err)
			}
		})
	}
}

// TestSubscriberKilled: Redis closes the subscribers' connections (as when
// their output buffer limit is reached). Each server reports it at once,
// resubscribes and reports that, and cross-server delivery comes back.
func TestSubscriberKilled(t *testing.T) {
	srv := testutil.StartRedis(t)
	for _, mc := range modeCases[:2] {
		t.Run(mc.name, func(t *testing.T) {
			var log eventLog
			o := Options{Mode: mc.mode, Key: "kill" + strconv.FormatInt(keySeq.Add(1), 10)}
			c1 := newTestClient(t, srv.URL(), o)
			o.OnEvent = log.add
			c2 := newTestClient(t, srv.URL(), o)
			n1, n2 := newNode(t, c1, "/"), newNode(t, c2, "/")
			a2 := sid("a2")
			n2.ns.connect(t, a2)
			ctx := context.Background()
			n1.a.Broadcast(ctx, ev("before"), nil)
			eventually(t, "before", func() bool { return slices.Contains(n2.ns.events(a2), "before") })

			// Redis closes the connections of clients in pub/sub mode.
			killed := time.Now()
			if _, err := srv.Command("CLIENT", "KILL", "TYPE", "pubsub"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "EventSubscriberDropped", func() bool { return log.count(EventSubscriberDropped) > 0 })
			if d := time.Since(killed); d > time.Second {
				t.Errorf("drop noticed after %v", d)
			}
			eventually(t, "EventResubscribed", func() bool { return log.count(EventResubscribed) > 0 })
			s := c2.Stats()
			if s.SubscriberDropped == 0 || s.Resubscribed == 0 {
				t.Fatalf("stats %+v", s)
			}
			for i := 0; ; i++ {
				name := "after" + strconv.Itoa(i)
				n1.a.Broadcast(ctx, ev(name), nil)
				time.Sleep(20 * time.Millisecond)
				if slices.Contains(n2.ns.events(a2), name) {
					break
				}
				if time.Since(killed) > 5*time.Second {
					t.Fatal("cross-server delivery not back 5 s after the kill")
				}
			}
		})
	}
}
