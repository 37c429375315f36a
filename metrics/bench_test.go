package metrics_test

import (
	"testing"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/socketio"
)

// BenchmarkObserve is the cost a set Counters adds per message in and out,
// from all Ps at once (the counters are shared).
func BenchmarkObserve(b *testing.B) {
	c := metrics.NewCounters()
	var eo engineio.Observer = c
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			eo.MessageIn("websocket", 64)
			eo.MessagesOut("websocket", 1, 64)
		}
	})
}

// BenchmarkObserveDisconnect is the cost of a disconnect with its reason
// looked up.
func BenchmarkObserveDisconnect(b *testing.B) {
	c := metrics.NewCounters()
	var so socketio.Observer = c
	b.ReportAllocs()
	for b.Loop() {
		so.Disconnected("/", socketio.ReasonTransportClose)
	}
}
