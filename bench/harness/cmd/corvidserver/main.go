// Command corvidserver is our Socket.IO server as the performance harness
// (bench/harness) runs it: a socketio.Server with the handlers the scenarios
// need and nothing else.
//
//	corvidserver -addr 127.0.0.1:0 [-redis redis://127.0.0.1:6379] [-pprof 127.0.0.1:6060]
//
// Events: "echo" (args..., ack) acknowledges with its arguments; "bcast"
// (payload) emits "msg" payload to every socket; "toroom" (room, payload)
// emits "msg" payload to the room. A client whose handshake query has "room"
// joins that room on connection. It prints "listening ADDR" when it accepts
// connections and shuts down on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on -pprof
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	redisURL := flag.String("redis", "", "Redis URL: use the Redis adapter (classic mode)")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this address")
	flag.Parse()
	if err := run(*addr, *redisURL, *pprofAddr); err != nil {
		fmt.Fprintln(os.Stderr, "corvidserver:", err)
		os.Exit(1)
	}
}

func run(addr, redisURL, pprofAddr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := &socketio.ServerOptions{
		Logger: log,
		Engine: &engineio.ServerOptions{MaxHTTPBufferSize: 1e7},
	}
	if redisURL != "" {
		rc, err := redis.Dial(ctx, redisURL, nil)
		if err != nil {
			return err
		}
		defer rc.Close()
		opts.Adapter = rc.NewAdapter
	}
	srv := socketio.NewServer(opts)
	io := srv.Of("/")
	srv.OnConnection(func(s *socketio.Socket) {
		if room := s.Handshake().Query.Get("room"); room != "" {
			s.Join(room)
		}
		s.On("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
		s.On("bcast", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if len(args) > 0 {
				io.Emit("msg", args[0])
			}
		})
		s.On("toroom", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var room string
			if len(args) < 2 || args.Decode(0, &room) != nil {
				return
			}
			io.To(room).Emit("msg", args[1])
		})
	})
	if pprofAddr != "" {
		go http.ListenAndServe(pprofAddr, nil)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	fmt.Println("listening", ln.Addr().String())
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hs.Close()
	return srv.Shutdown(sctx)
}
