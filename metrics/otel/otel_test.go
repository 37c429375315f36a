package otel_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/metrics/internal/metricstest"
	corvidotel "github.com/corvid-io/corvid/metrics/otel"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// read collects reader's metrics and returns the value of the data point of
// name whose attribute key (if any) is value; ok false when absent.
func read(t *testing.T, reader *sdkmetric.ManualReader, name, key, value string) (int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			var dps []metricdata.DataPoint[int64]
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				dps = d.DataPoints
			case metricdata.Gauge[int64]:
				dps = d.DataPoints
			}
			for _, dp := range dps {
				if key == "" && dp.Attributes.Len() == 0 {
					return dp.Value, true
				}
				if v, ok := dp.Attributes.Value(attribute.Key(key)); ok && v.AsString() == value {
					return dp.Value, true
				}
			}
		}
	}
	return 0, false
}

// TestManualReader runs real Socket.IO traffic and reads the instruments
// with a ManualReader during and after it.
func TestManualReader(t *testing.T) {
	const N, M = 2, 3
	c := metrics.NewCounters()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := corvidotel.Register(mp, c)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()

	srv := metricstest.NewServer(c)
	hs := testutil.Serve(t, srv, srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	socks := metricstest.Clients(t, ctx, hs.URL, N, M)
	type want struct {
		name, key, value string
		n                int64
	}
	check := func(when string, ws []want) {
		t.Helper()
		for _, w := range ws {
			if got, ok := read(t, reader, w.name, w.key, w.value); !ok || got != w.n {
				t.Errorf("%s: %s{%s=%q} = %d (found %v), want %d", when, w.name, w.key, w.value, got, ok, w.n)
			}
		}
	}
	check("while connected", []want{
		{"corvid.socketio.sockets_connected", "", "", N},
		{"corvid.socketio.connects", "", "", N},
		{"corvid.engineio.sessions_opened", "transport", "websocket", N},
		{"corvid.engineio.messages_in", "transport", "websocket", N * (M + 1)},
		{"corvid.engineio.messages_out", "transport", "websocket", N * (M + 1)},
		{"corvid.engineio.refused", "cause", "unsupported version", 1},
	})
	for _, s := range socks {
		s.Disconnect()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _ := read(t, reader, "corvid.socketio.sockets_connected", "", ""); n == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	check("after the disconnects", []want{
		{"corvid.socketio.sockets_connected", "", "", 0},
		{"corvid.socketio.disconnects", "reason", "client namespace disconnect", N},
		{"corvid.socketio.disconnects", "reason", "other", 0},
	})
}
