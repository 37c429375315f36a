package prometheus_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/metrics/internal/metricstest"
	corvidprom "github.com/corvid-io/corvid/metrics/prometheus"
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
	srv := metricstest.NewServer(c)
	hs := testutil.Serve(t, srv, srv.Shutdown)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(corvidprom.NewCollector(c))
	ms := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer ms.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	socks := metricstest.Clients(t, ctx, hs.URL, N, M)
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
