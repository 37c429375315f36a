package helper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/socketio"
)

// A server that authenticates by the auth payload's token, and a client that
// authenticates, joins a room and receives a message sent to its user.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	srv, err := helper.NewServerHelper(ctx, &helper.ServerOptions{
		Logger:   quiet,
		SocketIO: &socketio.ServerOptions{Logger: quiet},
		Authenticate: func(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
			var auth struct {
				Token string `json:"token"`
			}
			if v, ok := req.Handshake.Auth.(interface{ Decode(any) error }); ok {
				_ = v.Decode(&auth)
			}
			if auth.Token != "secret-alice" {
				return nil, &helper.AuthError{Message: "bad token"}
			}
			return &helper.Identity{UserID: "alice"}, nil
		},
		ValidateRoom: func(ctx context.Context, c *helper.Client, rooms []string) ([]string, error) {
			return rooms, nil // every room is allowed in this example
		},
	})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(ctx)

	client, err := helper.NewClientHelper(&helper.ClientOptions{
		Host:   ts.URL,
		Auth:   map[string]string{"token": "secret-alice"},
		Logger: quiet,
	})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	got := make(chan string, 1)
	helper.Subscribe(client, "greeting", func(text string) { got <- text })

	if err := client.Connect(ctx); err != nil {
		panic(err)
	}
	if err := client.Authenticate(ctx, nil); err != nil {
		panic(err)
	}
	joined, _ := client.JoinRoomsAck(ctx, "lobby")
	fmt.Println("state:", client.State(), "joined:", joined)

	if err := srv.Send(ctx, helper.ToUser("alice"), "greeting", "hello alice"); err != nil {
		fmt.Println("send:", err)
	}
	select {
	case text := <-got:
		fmt.Println(text)
	case <-ctx.Done(): // the output check then fails instead of the example hanging
		fmt.Println("no greeting:", ctx.Err())
	}
	// Output:
	// state: authenticated joined: [lobby]
	// hello alice
}

// Decode reads a typed value out of received arguments.
func ExampleDecode() {
	srv, _ := helper.NewServerHelper(context.Background(), &helper.ServerOptions{
		Logger:   quiet,
		SocketIO: &socketio.ServerOptions{Logger: quiet},
		Authenticate: func(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
			type login struct {
				User string `json:"user"`
			}
			l, err := helper.Decode[login](req.Payload, 0)
			if err != nil || l.User == "" {
				return nil, &helper.AuthError{Message: "who are you?"}
			}
			return &helper.Identity{UserID: l.User}, nil
		},
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	client, _ := helper.NewClientHelper(&helper.ClientOptions{Host: ts.URL, Logger: quiet})
	defer client.Close()
	ctx := context.Background()
	client.Connect(ctx)
	err := client.Authenticate(ctx, nil)
	fmt.Println(err)
	// Output:
	// helper: unauthenticated: who are you?
}

// Two nodes of a cluster share Redis: a message sent on either reaches the
// user's sockets on both. The helper takes the Redis connection as its
// Cluster (any adapter factory with a Close does): the server it makes uses
// its adapters, and Shutdown closes it. Send delivers to this node's sockets
// first, then publishes within PublishTimeout; when Redis is down or stalled
// it still delivers locally and says so. (Needs a Redis server; compiled, not
// run.)
func ExampleNewServerHelper_redis() {
	ctx := context.Background()
	auth := func(ctx context.Context, req *helper.AuthRequest) (*helper.Identity, error) {
		return &helper.Identity{UserID: req.Handshake.Query.Get("user")}, nil // a demo, not a check
	}
	// redis.DialMode(ctx, url, "sharded", nil) or redis.DialStreams(ctx, url, nil) as well.
	rc, err := redis.Dial(ctx, "redis://127.0.0.1:6379", nil)
	if err != nil {
		fmt.Println("redis:", err)
		return
	}
	node, err := helper.NewServerHelper(ctx, &helper.ServerOptions{
		Identifier:     "node-1",
		Authenticate:   auth,
		Cluster:        rc,
		PublishTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		rc.Close()
		fmt.Println(err)
		return
	}
	defer node.Shutdown(ctx) // closes rc too
	// http.Handle("/socket.io/", node)
	err = node.Send(ctx, helper.ToUser("alice"), "notification", map[string]string{"text": "hello"})
	if errors.Is(err, adapter.ErrNotPublished) {
		// This node's sockets of alice got it; those on other nodes did not.
		fmt.Println("not published:", err)
	}
	clients, _ := node.ClusterClients(ctx)
	fmt.Println(len(clients), "sockets in the cluster")
}
