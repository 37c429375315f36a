package redis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/socketio"
)

// A Socket.IO server whose namespaces share their rooms and broadcasts with
// the other servers (Go or Node.js) on the same Redis.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := redis.Dial(ctx, "redis://127.0.0.1:6379", &redis.Options{Mode: redis.Classic})
	if err != nil {
		log.Fatal(err) // Redis unreachable
	}
	defer rc.Close()
	srv := socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter})
	srv.OnConnection(func(s *socketio.Socket) {
		s.Join("news")
	})
	// Reaches the sockets in "news" on every server.
	srv.Of("/").To("news").Emit("headline", "hello")
}

// Sending to the sockets of a cluster from a process that is not a server.
func ExampleDialEmitter() {
	ctx := context.Background()
	e, err := redis.DialEmitter(ctx, "redis://127.0.0.1:6379", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	e.To("room1").Except("room2").Emit(ctx, "alert", map[string]any{"level": 2})
	e.Of("/admin").SocketsJoin(ctx, "audited")
	e.ServerSideEmit(ctx, "reload", "config.json")
}

// The command-line spelling of the modes.
func ExampleParseMode() {
	for _, s := range []string{"classic", "sharded", "sharded-static", "sharded-dynamic-private"} {
		m, sub, _ := redis.ParseMode(s)
		fmt.Println(m, sub)
	}
	// Output:
	// classic dynamic
	// sharded dynamic
	// sharded static
	// sharded dynamic-private
}
