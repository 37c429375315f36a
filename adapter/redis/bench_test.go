package redis

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
)

// benchNS counts deliveries and records the latency of each broadcast, from
// the send time carried in its first argument to its arrival (Encode runs once
// per broadcast on the receiving server).
type benchNS struct {
	name      string
	delivered atomic.Int64
	mu        sync.Mutex
	lat       []time.Duration
}

func (b *benchNS) Name() string { return b.name }
func (b *benchNS) Encode(p *parser.Packet) ([]parser.Message, error) {
	if len(p.Args) > 0 {
		if ns, ok := p.Args[0].(float64); ok {
			d := time.Duration(time.Now().UnixNano() - int64(ns))
			b.mu.Lock()
			b.lat = append(b.lat, d)
			b.mu.Unlock()
		}
	}
	return []parser.Message{{Data: []byte(p.Event)}}, nil
}
func (b *benchNS) Deliver(string, []parser.Message, *adapter.Flags) bool {
	b.delivered.Add(1)
	return true
}
func (b *benchNS) NextAckID() uint64 { return 0 }
func (b *benchNS) DeliverWithAck(context.Context, string, []parser.Message, *adapter.Flags, uint64, func([]any)) bool {
	return true
}
func (b *benchNS) SocketInfo(string) (adapter.SocketInfo, bool) { return adapter.SocketInfo{}, false }
func (b *benchNS) Disconnect(string, bool)                      {}
func (b *benchNS) ServerSideEmit([]any, func(any))              {}

// BenchmarkCrossNodeBroadcast broadcasts from one Go server to 100 sockets of
// another through one local Redis, in each mode. Metrics: deliveries/s on the
// receiving server and the latency (publish to arrival) p50/p99.
func BenchmarkCrossNodeBroadcast(b *testing.B) {
	srv := testutil.StartRedis(b)
	for _, mc := range modeCases[:2] {
		b.Run(mc.name, func(b *testing.B) {
			o := Options{Mode: mc.mode, SubscriptionMode: Static, QueueSize: 1 << 16}
			c1 := newTestClient(b, srv.URL(), o)
			o.Key = c1.opts.Key
			c2 := newTestClient(b, srv.URL(), o)
			a1, err := c1.NewAdapter(&benchNS{name: "/"})
			if err != nil {
				b.Fatal(err)
			}
			defer a1.Close(context.Background())
			recv := &benchNS{name: "/"}
			a2, err := c2.NewAdapter(recv)
			if err != nil {
				b.Fatal(err)
			}
			defer a2.Close(context.Background())
			const sockets = 100
			ctx := context.Background()
			for i := 0; i < sockets; i++ {
				a2.AddAll(ctx, sid("s"+string(rune('a'+i%26))+string(rune('a'+i/26))), []string{"room"})
			}
			opts := &adapter.BroadcastOptions{Rooms: []string{"room"}}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				p := &parser.Packet{Type: parser.Event, Event: "tick", Args: []any{time.Now().UnixNano(), "payload"}}
				if err := a1.Broadcast(ctx, p, opts); err != nil {
					b.Fatal(err)
				}
			}
			want := int64(b.N) * sockets
			deadline := time.Now().Add(30 * time.Second)
			for recv.delivered.Load()+int64(c2.Stats().Dropped)*sockets < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			recv.mu.Lock()
			lat := slices.Clone(recv.lat)
			recv.mu.Unlock()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
			}
			b.ReportMetric(float64(recv.delivered.Load())/elapsed.Seconds(), "deliveries/s")
			b.ReportMetric(float64(c2.Stats().Dropped), "dropped")
		})
	}
}
