// Package metricstest is the traffic that the tests of the metrics exporters
// (metrics/otel, metrics/prometheus) count, written once so that both count
// the same thing. For tests only.
package metricstest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/socketio"
)

// NewServer returns a Socket.IO server observed by c whose "echo" event is
// acknowledged with its arguments.
func NewServer(c *metrics.Counters) *socketio.Server {
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
	return srv
}

// Clients makes one handshake that the server at url refuses (EIO=3:
// "unsupported version"), then connects n WebSocket clients that each emit
// m acknowledged "echo" events. The clients are closed at the test's end.
func Clients(t testing.TB, ctx context.Context, url string, n, m int) []*socketio.ClientSocket {
	t.Helper()
	res, err := http.Get(url + "/socket.io/?EIO=3&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var socks []*socketio.ClientSocket
	for range n {
		s, err := socketio.NewClientSocket(url, &socketio.ClientOptions{
			ManagerOptions: socketio.ManagerOptions{Transports: []string{"websocket"}, DisableReconnection: true},
			ForceNew:       true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Manager().Close() })
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		for j := range m {
			if _, err := s.EmitWithAck(ctx, "echo", j); err != nil {
				t.Fatal(err)
			}
		}
		socks = append(socks, s)
	}
	return socks
}
