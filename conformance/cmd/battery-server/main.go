// Command battery-server is the server the resource battery
// (conformance/resource_battery_test.go) attacks: a Socket.IO server with the
// default options, served by engineio.NewHTTPServer on
// engineio.NewHTTPListener, with the same
// application as conformance/node/battery_server.js so that both can be
// compared:
//
//   - "join" [rooms...] joins every room and acknowledges with their number;
//     "leave" [rooms...] leaves each; "probe" joins and leaves a room of
//     its own and acknowledges (the well-behaved clients of the rooms
//     attack measure their latency with it);
//   - "slow" runs a handler that takes 5 s (the connection's later packets
//     wait behind it, and the session is paused once 256 of them queue);
//   - "flood" n size emits n events of size bytes to the socket (a buffer
//     of its own each);
//   - "bin" takes binary attachments;
//   - namespaces matching ^/dyn-\d+$ are created on demand;
//   - the helper's authentication protocol runs on namespace /auth (a
//     ServerHelper; the token "ok" authenticates), logging to stderr.
//
// -ping sets pingInterval and pingTimeout (the battery uses 500 ms on both
// sides, so that the sessions of attackers that left end within seconds).
// With -debug, GET /debug/stats answers {"heap":...,"goroutines":...} after
// two garbage collections: the live heap and the goroutine count, and
// /debug/pprof/ serves net/http/pprof (heap, goroutine, allocs profiles).
//
// It prints "listening on <addr>" once it accepts connections and stops on
// SIGINT/SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	debug := flag.Bool("debug", false, "serve /debug/stats")
	ping := flag.Duration("ping", 0, "pingInterval and pingTimeout (default: the defaults, 25 s and 20 s)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	srv := socketio.NewServer(&socketio.ServerOptions{Logger: logger,
		Engine: &engineio.ServerOptions{PingInterval: *ping, PingTimeout: *ping}})
	app := func(s *socketio.Socket) {
		s.On("join", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var rooms []string
			_ = args.Decode(0, &rooms)
			_ = s.Join(rooms...)
			if ack != nil {
				_ = ack(len(rooms))
			}
		})
		s.On("leave", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var rooms []string
			_ = args.Decode(0, &rooms)
			for _, r := range rooms {
				_ = s.Leave(r)
			}
			if ack != nil {
				_ = ack(len(rooms))
			}
		})
		s.On("probe", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			_ = s.Join("probe")
			_ = s.Leave("probe")
			if ack != nil {
				_ = ack()
			}
		})
		s.On("slow", func(s *socketio.Socket, _ socketio.Args, _ socketio.AckFunc) {
			select {
			case <-time.After(5 * time.Second):
			case <-s.Context().Done():
			}
		})
		s.On("flood", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			var n, size int
			_ = args.Decode(0, &n)
			_ = args.Decode(1, &size)
			for i := range min(n, 10000) {
				data := bytes.Repeat([]byte{byte(i)}, min(size, 1<<20)) // a buffer each
				if s.Emit("data", data) != nil {
					return
				}
			}
		})
		s.On("bin", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {})
	}
	srv.OnConnection(app)
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(app)
	h, err := helper.NewServerHelper(context.Background(), &helper.ServerOptions{
		Server:    srv,
		Namespace: "/auth",
		Logger:    logger,
		Authenticate: func(_ context.Context, r *helper.AuthRequest) (*helper.Identity, error) {
			var p struct {
				Token string `json:"token"`
			}
			_ = r.Payload.Decode(0, &p)
			if p.Token != "ok" {
				return nil, &helper.AuthError{Message: helper.MessageInvalidCredentials}
			}
			return &helper.Identity{UserID: "u"}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	if *debug {
		mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, _ *http.Request) {
			runtime.GC() // twice: sync.Pool items survive one collection
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			_ = json.NewEncoder(w).Encode(map[string]uint64{
				"heap": ms.HeapAlloc, "goroutines": uint64(runtime.NumGoroutine()),
			})
		})
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	hs := engineio.NewHTTPServer("", mux, nil)
	fmt.Println("listening on", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(engineio.NewHTTPListener(ln, nil)) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-errc:
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = h.Shutdown(ctx)
	_ = srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
}
