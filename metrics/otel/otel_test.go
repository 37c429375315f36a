package otel_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	corvidotel "github.com/corvid-io/corvid/metrics/otel"
	"github.com/corvid-io/corvid/socketio"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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

	srv := socketio.NewServer(&socketio.ServerOptions{
		Observer: c,
		Engine:   &engineio.ServerOptions{Observer: c},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	res, err := http.Get(hs.URL + "/socket.io/?EIO=3&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var socks []*socketio.ClientSocket
	for range N {
		s, err := socketio.NewClientSocket(hs.URL, &socketio.ClientOptions{
			ManagerOptions: socketio.ManagerOptions{Transports: []string{"websocket"}, DisableReconnection: true},
			ForceNew:       true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		for j := range M {
			if _, err := s.EmitWithAck(ctx, "echo", j); err != nil {
				t.Fatal(err)
			}
		}
		socks = append(socks, s)
	}
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
