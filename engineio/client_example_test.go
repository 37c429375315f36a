package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// ExampleDial connects to an Engine.IO server (polling first, then an upgrade to
// websocket), sends a text and a binary message, reads the answers, and closes.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, err := engineio.Dial(ctx, "http://localhost:3000", &engineio.DialOptions{
		ExtraHeaders: http.Header{"Authorization": {"Bearer token"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("session", conn.ID(), "on", conn.Transport(), "ping every", conn.OpenInfo().PingInterval)

	// Send never blocks; the messages are written in order, across an upgrade too.
	if err := conn.Send(
		engineio.Message{Data: []byte("hello")},
		engineio.Message{Binary: true, Data: []byte{1, 2, 3}},
	); err != nil {
		log.Fatal(err)
	}
	for {
		m, err := conn.Read(ctx)
		if errors.Is(err, engineio.ReasonTransportClose) || errors.Is(err, engineio.ReasonPingTimeout) {
			log.Println("connection lost:", err) // a reconnecting layer would dial again here
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("got binary=%v %q\n", m.Binary, m.Data)
	}
}
