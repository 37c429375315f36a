//go:build unix

package helper_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
)

// TestClusterStalledRedis: with Redis frozen (SIGSTOP), Send and Broadcast
// return once PublishTimeout has passed, with the deadline in their error,
// and this node's clients get the message (the conformance chaos test,
// TestHelperRedisChaos, measures the whole outage).
func TestClusterStalledRedis(t *testing.T) {
	const publish = 300 * time.Millisecond
	for _, mode := range clusterModes {
		t.Run(mode, func(t *testing.T) {
			rs := testutil.StartRedis(t)
			h, url := newServer(t, &helper.ServerOptions{Cluster: dialCluster(t, rs.URL(), mode), PublishTimeout: publish})
			a, _ := newClient(t, url, "tok-alice", nil)
			connectAuth(t, a)
			got := make(chan string, 8)
			helper.Subscribe(a, "msg", func(s string) { got <- s })

			resume := rs.Stall()
			defer resume()
			for _, send := range []func(ctx context.Context) error{
				func(ctx context.Context) error { return h.Send(ctx, helper.ToUser("alice"), "msg", "send") },
				func(ctx context.Context) error { return h.Broadcast(ctx, "msg", "broadcast") },
			} {
				start := time.Now()
				err := send(context.Background())
				took := time.Since(start)
				if took > publish+time.Second {
					t.Fatalf("the send took %v with Redis stalled (PublishTimeout %v)", took, publish)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("error %v, want the publish deadline", err)
				}
			}
			for _, want := range []string{"send", "broadcast"} {
				if m := recv(t, got); m != want {
					t.Fatalf("local client got %q, want %q", m, want)
				}
			}
			resume()
		})
	}
}
