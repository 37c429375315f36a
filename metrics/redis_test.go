package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/socketio"
	"github.com/redis/rueidis"
)

// TestRedisPublishFailure: with a real redis-server frozen, a broadcast
// cannot be published; the Socket.IO observer counts the *PublishError and
// the Redis adapter's OnEvent, wired to RedisEvent, its "publish failed".
func TestRedisPublishFailure(t *testing.T) {
	rs := testutil.StartRedis(t)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{rs.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	c := metrics.NewCounters()
	cl, err := redis.New(rc, &redis.Options{
		PublishTimeout: 100 * time.Millisecond,
		OnEvent:        func(e redis.Event) { c.RedisEvent(e.Kind) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	srv := socketio.NewServer(&socketio.ServerOptions{
		Adapter:  cl.NewAdapter,
		Observer: c,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Emit("before"); err != nil {
		t.Fatalf("emit with Redis up: %v", err)
	}
	resume := rs.Stall()
	err = srv.Emit("lost")
	resume()
	if !errors.Is(err, adapter.ErrNotPublished) {
		t.Fatalf("emit with Redis frozen: %v, want a PublishError", err)
	}
	check(t, c, []want{
		{"socketio_adapter_failures", "publish", 1},
		{"socketio_adapter_failures", metrics.Other, 0},
		{"redis_events", "publish failed", 1},
		{"redis_events", metrics.Other, 0},
	})
}
