package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// ExampleDial connects to an Engine.IO server (polling first, then an upgrade to
// websocket), sends a text and a binary message, reads the answers, and closes.
func ExampleDial() {
	// An echo server to talk to.
	srv := engineio.NewServer(func(s *engineio.Session) {
		for {
			m, err := s.Read(context.Background())
			if err != nil || s.Send(m) != nil {
				return
			}
		}
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := engineio.Dial(ctx, hs.URL, &engineio.DialOptions{
		ExtraHeaders: http.Header{"Authorization": {"Bearer token"}}, // on every request
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("ping interval:", conn.OpenInfo().PingInterval)

	// Send never blocks; the messages are written in order, across the upgrade too.
	if err := conn.Send(
		engineio.Message{Data: []byte("hello")},
		engineio.Message{Binary: true, Data: []byte{1, 2, 3}},
	); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		m, err := conn.Read(ctx)
		if errors.Is(err, engineio.ReasonTransportClose) || errors.Is(err, engineio.ReasonPingTimeout) {
			log.Println("connection lost:", err) // a reconnecting layer would dial again
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("binary=%v %q\n", m.Binary, m.Data)
	}

	conn.Close() // sends the close packet, waits for the connection's goroutines
	fmt.Println("closed:", context.Cause(conn.Context()))
	// Output:
	// ping interval: 25s
	// binary=false "hello"
	// binary=true "\x01\x02\x03"
	// closed: forced close
}
