// Command suite-server serves what the official protocol test suites
// (socketio/engine.io-protocol and socketio/socket.io-protocol, test-suite/) expect:
// an Engine.IO echo server at /engine.io/ and, when registered, the Socket.IO
// server at /socket.io/, with pingInterval 300 ms, pingTimeout 200 ms, maxPayload
// 1000000 and CORS origin "*" (for the suites' browser runner).
//
//	go run ./conformance/cmd/suite-server -addr 127.0.0.1:3000
//
// It prints "listening on <addr>" once it accepts connections and shuts down
// cleanly on SIGINT/SIGTERM.
//
// Each endpoint is registered from its own file of this package: an init function
// appends to mounts a function that adds its handlers to the mux and may add a
// shutdown function (called with a deadline when the command stops). eio.go
// registers /engine.io/; the Socket.IO handlers register /socket.io/ the same way.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// Settings shared by every endpoint, as the suites hard-code them.
const (
	pingInterval = 300 * time.Millisecond
	pingTimeout  = 200 * time.Millisecond
	maxPayload   = 1000000
)

// mounts registers the endpoints: each function adds its handlers to mux and may
// append a function that shuts them down. Append to it from an init function.
var mounts []func(mux *http.ServeMux, shutdown *[]func(context.Context) error)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	flag.Parse()

	mux := http.NewServeMux()
	var shutdown []func(context.Context) error
	for _, m := range mounts {
		m(mux, &shutdown)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Node's HTTP limits (the reference's defaults): headers within 60 s and
	// 16 KiB, a request within 300 s, idle keep-alive connections closed
	// after 5 s.
	hs := engineio.NewHTTPServer("", mux, nil)
	ln = engineio.NewHTTPListener(ln, nil)
	fmt.Println("listening on", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, f := range shutdown {
		if err := f(ctx); err != nil {
			log.Print(err)
		}
	}
	hs.Shutdown(ctx)
}
