package prometheus_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	corvidprom "github.com/corvid-io/corvid/metrics/prometheus"
	"github.com/corvid-io/corvid/socketio"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// scrape GETs the Prometheus text exposition of url and returns its sample
// lines.
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(map[string]bool)
	for l := range strings.Lines(string(body)) {
		if !strings.HasPrefix(l, "#") {
			lines[strings.TrimSpace(l)] = true
		}
	}
	return lines
}

// TestScrape runs real Socket.IO traffic (N clients, M events each, one
// refused handshake) and scrapes a promhttp handler during and after it.
func TestScrape(t *testing.T) {
	const N, M = 2, 3
	c := metrics.NewCounters()
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
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(corvidprom.NewCollector(c))
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer func() {
		ms.Close()
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
	// While connected. (The server counts a connect before it answers it.)
	lines := scrape(t, ms.URL)
	for _, want := range []string{
		`corvid_socketio_sockets_connected 2`,
		`corvid_socketio_connects_total 2`,
		`corvid_engineio_sessions_opened_total{transport="websocket"} 2`,
		`corvid_engineio_sessions_open{transport="websocket"} 2`,
		`corvid_engineio_messages_in_total{transport="websocket"} 8`,  // N * (CONNECT + M events)
		`corvid_engineio_messages_out_total{transport="websocket"} 8`, // N * (reply + M acks)
		`corvid_engineio_refused_total{cause="unsupported version"} 1`,
	} {
		if !lines[want] {
			t.Errorf("scrape while connected: no %q", want)
		}
	}
	for _, s := range socks {
		s.Disconnect()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines = scrape(t, ms.URL)
		if lines[`corvid_socketio_sockets_connected 0`] || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		`corvid_socketio_sockets_connected 0`,
		`corvid_socketio_disconnects_total{reason="client namespace disconnect"} 2`,
		`corvid_socketio_disconnects_total{reason="other"} 0`,
	} {
		if !lines[want] {
			t.Errorf("scrape after the disconnects: no %q", want)
		}
	}
}
