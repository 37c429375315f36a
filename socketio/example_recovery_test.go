package socketio_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// Connection state recovery: the client's connection drops, the server emits
// to the socket while it is away, and the client comes back with the same id
// and gets the missed event (with its offset as the last argument).
func ExampleRecoveryOptions() {
	srv := socketio.NewServer(&socketio.ServerOptions{
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute},
	})
	srv.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("news")
			// A client recovers from the offset of the last event it got:
			// one that got none yet cannot.
			s.Emit("welcome")
		}
		s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
			if reason != socketio.ReasonServerShuttingDown && reason != socketio.ReasonClientNamespaceDisconnect {
				// The client is away: both are kept and replayed.
				s.Emit("direct", "for you")
				s.Namespace().To("news").Emit("headline", "sent during the gap")
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		hs.Close()
	}()

	c, err := socketio.NewClientSocket(hs.URL, &socketio.ClientOptions{ManagerOptions: socketio.ManagerOptions{
		Transports: []string{"websocket"}, ReconnectionDelay: 200 * time.Millisecond,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Manager().Close()
	got := make(chan string, 4)
	c.On("direct", func(args socketio.Args, _ socketio.AckFunc) {
		var s string
		args.Decode(0, &s)
		got <- "direct: " + s
	})
	c.On("headline", func(args socketio.Args, _ socketio.AckFunc) {
		var s string
		args.Decode(0, &s)
		got <- "headline: " + s
	})
	welcome := make(chan struct{}, 1)
	c.On("welcome", func(socketio.Args, socketio.AckFunc) { welcome <- struct{}{} })
	connected := make(chan bool, 2)
	c.OnConnect(func() { connected <- c.Recovered() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("first connection recovered:", <-connected)
	<-welcome
	id := c.ID()
	c.Manager().DropConnection() // like socket.io.engine.close()
	fmt.Println("second connection recovered:", <-connected)
	fmt.Println("same id:", c.ID() == id)
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// first connection recovered: false
	// second connection recovered: true
	// same id: true
	// direct: for you
	// headline: sent during the gap
}
