package testutil

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Serve starts an httptest server for h and, when the test ends, shuts the
// server under test down (shutdown, within 10 s; an error fails the test),
// then drops what connections remain, closes the listener and the default
// client's idle connections.
func Serve(t testing.TB, h http.Handler, shutdown func(context.Context) error) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.CloseClientConnections()
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return hs
}
