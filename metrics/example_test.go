package metrics_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/metrics"
	"github.com/corvid-io/corvid/socketio"
)

// Count the connections of a Socket.IO server, through both observers.
func ExampleCounters() {
	c := metrics.NewCounters()
	srv := socketio.NewServer(&socketio.ServerOptions{
		Observer: c,
		Engine:   &engineio.ServerOptions{Observer: c},
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer srv.Shutdown(ctx)

	s, err := socketio.NewClientSocket(hs.URL, &socketio.ClientOptions{
		ManagerOptions: socketio.ManagerOptions{Transports: []string{"websocket"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	s.Disconnect()
	s.Manager().Close()
	for c.Map()["socketio_disconnects"]["client namespace disconnect"] == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	m := c.Map()
	fmt.Println("sessions:", m["engineio_sessions_opened"]["websocket"])
	fmt.Println("connects:", m["socketio_connects"][""])
	fmt.Println("disconnects:", m["socketio_disconnects"]["client namespace disconnect"])
	fmt.Println("connected now:", m["socketio_sockets_connected"][""])
	// Output:
	// sessions: 1
	// connects: 1
	// disconnects: 1
	// connected now: 0
}
