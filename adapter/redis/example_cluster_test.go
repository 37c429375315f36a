package redis_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/socketio"
)

// A cluster of two servers on one Redis: a broadcast made on server A reaches
// a client of server B. (The Example's Redis is started by the package's
// tests; use your own redis:// URL.)
func Example_cluster() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node := func() (*socketio.Server, string, func()) {
		rc, err := redis.Dial(ctx, redis.ExampleRedisURL, &redis.Options{Mode: redis.Classic})
		if err != nil {
			log.Fatal(err)
		}
		srv := socketio.NewServer(&socketio.ServerOptions{Adapter: rc.NewAdapter})
		srv.OnConnection(func(s *socketio.Socket) { s.Join("news") })
		hs := httptest.NewServer(srv)
		return srv, hs.URL, func() {
			srv.Shutdown(context.Background())
			hs.Close()
			rc.Close()
		}
	}
	a, _, closeA := node()
	defer closeA()
	_, urlB, closeB := node()
	defer closeB()

	got := make(chan string, 1)
	c, err := socketio.NewClientSocket(urlB, nil)
	if err != nil {
		log.Fatal(err)
	}
	socketio.OnClient(c, "headline", func(text string, _ socketio.AckFunc) { got <- text }, nil)
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()

	// Server A sees the sockets of the whole cluster.
	for {
		ss, err := a.FetchSockets(ctx)
		if err != nil {
			log.Fatal(err)
		}
		if len(ss) == 1 {
			fmt.Println("A sees B's socket, local:", ss[0].Local)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = a.To("news").Emit("headline", "hello from A")
	fmt.Println(<-got, err)
	// Output:
	// A sees B's socket, local: false
	// hello from A <nil>
}
