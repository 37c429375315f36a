package engineio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A handshake the server answers with an error status is a *HandshakeError
// with that status; a 404 tells to check the Path option; a refused
// connection keeps its network error as the cause.
func TestDialErrorsKeepTheirCause(t *testing.T) {
	srv := NewServer(func(s *Session) {}, nil)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tr := range []string{TransportPolling, TransportWebSocket} {
		_, err := Dial(ctx, hs.URL, &DialOptions{Path: "/wrong/", Transports: []string{tr}})
		var he *HandshakeError
		if !errors.As(err, &he) || he.Status != http.StatusNotFound || he.Transport != tr || he.Path != "/wrong/" {
			t.Fatalf("%s: %v", tr, err)
		}
		if !errors.Is(err, ErrHandshake) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "Path option") {
			t.Fatalf("%s: %v", tr, err)
		}
	}
	// a protocol refusal: 400 with the server's message in the error
	wsOnly := NewServer(func(s *Session) {}, &ServerOptions{Transports: []string{TransportWebSocket}})
	defer wsOnly.Shutdown(context.Background())
	hs2 := httptest.NewServer(wsOnly)
	defer hs2.Close()
	_, err := Dial(ctx, hs2.URL, &DialOptions{Transports: []string{TransportPolling}})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "Transport unknown") {
		t.Fatalf("polling to a websocket-only server: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, tr := range []string{TransportPolling, TransportWebSocket} {
		_, err := Dial(ctx, "http://"+addr, &DialOptions{Transports: []string{tr}})
		var oe *net.OpError
		if !errors.Is(err, ErrHandshake) || !errors.As(err, &oe) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("%s, connection refused: %q", tr, err)
		}
	}
}
