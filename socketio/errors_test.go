package socketio

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// One ack-timeout error on both sides: errors.Is matches ErrAckTimeout (and
// its old client name) whether the wait ended at the ack timeout or at the
// context's deadline, on the server and on the client.
func TestAckTimeoutIsOneError(t *testing.T) {
	srv, url := clTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	c.On("silent", func(Args, AckFunc) {}) // never answers

	// client: the emitter's timeout, then ctx's deadline
	_, err = c.Timeout(50*time.Millisecond).EmitWithAck(ctx, "unanswered")
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, ErrClientAckTimeout) {
		t.Fatalf("client ack timeout: %v", err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = c.EmitWithAck(dctx, "unanswered")
	dcancel()
	if !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("client ctx deadline: %v", err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if _, err = c.EmitWithAck(cctx, "unanswered"); !errors.Is(err, context.Canceled) || errors.Is(err, ErrAckTimeout) {
		t.Fatalf("client cancelled ctx: %v", err)
	}

	// server: ctx's deadline, then EmitWithCallback's timeout
	s := srv.Of("/").Socket(c.ID())
	dctx, dcancel = context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = s.EmitWithAck(dctx, "silent")
	dcancel()
	if !errors.Is(err, ErrClientAckTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("server ctx deadline: %v", err)
	}
	got := make(chan error, 1)
	if err := s.EmitWithCallback("silent", 50*time.Millisecond, func(_ Args, err error) { got <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; !errors.Is(err, ErrClientAckTimeout) {
		t.Fatalf("server callback timeout: %v", err)
	}
}

// A Connect that ends at its deadline after failed attempts keeps the last
// attempt's error: a server mounted at another path than the client's Path
// is a 404 *engineio.HandshakeError, and the server's 404 body names the path
// it answers under.
func TestConnectDeadlineKeepsTheCause(t *testing.T) {
	srv := NewServer(&ServerOptions{Path: "/chat/"})
	defer srv.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/chat/", srv)
	mux.Handle("/other/", srv) // mounted where its Path is not
	hs := httptest.NewServer(mux)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := Connect(ctx, hs.URL, &ClientOptions{ManagerOptions: ManagerOptions{ReconnectionDelay: 50 * time.Millisecond}})
	var he *engineio.HandshakeError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.Status != http.StatusNotFound || he.Path != "/socket.io/" {
		t.Fatalf("Connect to the wrong path: %v", err)
	}
	if !strings.Contains(err.Error(), "Path option") {
		t.Fatalf("no hint in %q", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	c, err := Connect(ctx2, hs.URL, &ClientOptions{ManagerOptions: ManagerOptions{Path: "/chat/"}})
	if err != nil {
		t.Fatalf("Connect with the right path: %v", err)
	}
	c.Manager().Close()

	resp, err := http.Get(hs.URL + "/other/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), `"/chat/"`) {
		t.Fatalf("404 body: %d %q", resp.StatusCode, body)
	}
}
