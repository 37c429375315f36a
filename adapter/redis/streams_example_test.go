package redis_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/socketio"
)

// A server on the Redis Streams adapter with connection state recovery: a
// client whose connection drops recovers on any node of the cluster (Go or
// Node with @socket.io/redis-streams-adapter 0.3 on the same stream).
func ExampleDialStreams() {
	const window = 2 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := redis.DialStreams(ctx, "redis://127.0.0.1:6379", &redis.StreamsOptions{
		Recovery:                 true,
		MaxDisconnectionDuration: window,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	srv := socketio.NewServer(&socketio.ServerOptions{
		Adapter:                 st.NewAdapter,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: window},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("news")
		}
	})
	log.Fatal(http.ListenAndServe(":3000", srv))
}
