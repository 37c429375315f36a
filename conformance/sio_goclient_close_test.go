package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// TestGoClientDisconnectReason: the Go client's Disconnect (and Manager.Close)
// reaches the npm socket.io server as "client namespace disconnect", as the
// npm client's does, whatever the transport is doing: over polling with a
// request in flight (the DISCONNECT packet then waits for it, and the close
// packet must not share its request: the npm server handles the close first
// and reports "transport close", which a server with connection state
// recovery takes for a temporary drop), and right after Connect, while the
// transport is being upgraded. Each case runs many times (the upgrade race
// showed in a few tries out of a hundred).
func TestGoClientDisconnectReason(t *testing.T) {
	peer := startNodeSIOPeer(t, "json")
	big := strings.Repeat("x", 1<<20)
	cases := []struct {
		name       string
		transports []string
		inFlight   bool
		runs       int
	}{
		{"polling-in-flight", []string{"polling"}, true, 30},
		{"upgrade-right-after-connect", nil, false, 150},
	}
	deadline := time.Now().Add(3 * time.Minute) // bounds the whole test
	seen := 0
	for _, tc := range cases {
		for _, how := range []string{"Disconnect", "Manager.Close"} {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				bad := 0
				for i := 0; i < tc.runs && time.Now().Before(deadline); i++ {
					opts := &socketio.ClientOptions{}
					opts.Transports = tc.transports
					opts.DisableUpgrade = tc.inFlight
					opts.Timeout = 5 * time.Second
					s, err := socketio.NewClientSocket(peer.URL(), opts)
					if err != nil {
						t.Fatal(err)
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					err = s.Connect(ctx)
					cancel()
					if err != nil {
						s.Manager().Close()
						t.Fatalf("run %d: Connect: %v", i, err)
					}
					if tc.inFlight {
						// A POST of 1 MiB, under way when Disconnect comes
						// (the pause lets the client start it).
						s.Emit("no-ack", big)
						time.Sleep(2 * time.Millisecond)
					}
					if how == "Disconnect" {
						s.Disconnect()
					}
					s.Manager().Close()
					seen++
					reason := goclientNextDisconnect(t, peer, seen)
					if reason != "client namespace disconnect" {
						bad++
						t.Errorf("run %d: the server saw %q", i, reason)
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d runs ended with another reason", bad, tc.runs)
				}
			})
		}
	}
}

// goclientNextDisconnect waits for the server's n-th "disconnect /" line and
// returns its reason.
func goclientNextDisconnect(t *testing.T, peer *nodeSIOPeer, n int) string {
	t.Helper()
	const prefix = "disconnect / "
	end := time.Now().Add(10 * time.Second)
	for {
		k := 0
		for _, l := range peer.Lines() {
			if strings.HasPrefix(l, prefix) {
				k++
				if k == n {
					return strings.TrimPrefix(l, prefix)
				}
			}
		}
		if time.Now().After(end) {
			t.Fatalf("the server reported %d disconnections, want %d", k, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
