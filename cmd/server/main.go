// Command server is Corvid's demo: a chat page served with the official
// socket.io-client, over a helper.ServerHelper (a demo login, rooms, direct
// messages, broadcast, binary files), and a health endpoint.
//
//	go run ./cmd/server                         # :3000, in-memory adapter
//	go run ./cmd/server -addr :3001 -redis redis://127.0.0.1:6379
//
// With -redis several instances share their rooms and messages through
// Redis (-redis-mode classic, sharded, sharded-static,
// sharded-dynamic-private or streams). While Redis is unreachable each
// instance keeps serving its own clients. -recovery 2m turns connection
// state recovery on (in memory, or with -redis-mode streams in Redis: the
// pub/sub modes cannot keep sessions, as with the npm adapter).
//
// The server logs connections and messages (at most 20 lines of each kind a
// second, counting the lines it leaves out) and pushes the list of users
// online to the pages as it changes. Shutting it down (SIGINT, SIGTERM)
// closes the connections so that the pages reconnect by themselves to the
// next instance on the same address.
//
// With -admin it also serves the official admin UI (see admin.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

func main() {
	addr := flag.String("addr", ":3000", "listen address")
	redisURL := flag.String("redis", "", "Redis URL (redis://host:port): use the Redis adapter")
	redisMode := flag.String("redis-mode", "classic", "Redis adapter mode: classic, sharded, sharded-static, sharded-dynamic-private or streams")
	recovery := flag.Duration("recovery", 0, "connection state recovery window (e.g. 2m); 0 turns it off")
	clientJS := flag.String("client-js", "", "path of socket.io.min.js (default: conformance/node_modules, else an npm install into the user cache)")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := chatConfig{RedisURL: *redisURL, RedisMode: *redisMode, Recovery: *recovery}
	if err := run(ctx, log, *addr, cfg, *clientJS); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, addr string, cfg chatConfig, clientJSPath string) error {
	js, jsFrom, err := loadClientJS(ctx, clientJSPath, log)
	if err != nil {
		return err
	}
	log.Info("socket.io client", "from", jsFrom)
	if cfg.Recovery > 0 && cfg.RedisURL != "" && cfg.RedisMode != "streams" {
		log.Warn("-recovery needs -redis-mode streams with -redis: the pub/sub adapters keep no sessions, clients will not be recovered")
	}
	// The admin UI counts the Engine.IO traffic through an observer the
	// server is created with (set only when not nil: a nil pointer would be a
	// non-nil Observer).
	engine := adminEngineObserver()
	if engine != nil {
		cfg.Engine = engine
	}
	app, err := newChat(ctx, log, cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	app.routes(mux, js)
	closeAdmin, err := mountAdmin(mux, app.h.Server(), engine, log)
	if err != nil {
		app.shutdown(context.Background())
		return err
	}
	defer closeAdmin()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		app.shutdown(context.Background())
		return err
	}
	// Node's HTTP limits: headers within 60 s and 16 KiB, a request within
	// 300 s, idle keep-alive connections closed after 5 s; a connection
	// reaches net/http once its headers are complete (NewHTTPListener).
	hs := engineio.NewHTTPServer("", mux, nil)
	ln = engineio.NewHTTPListener(ln, nil)
	log.Info("listening", "addr", ln.Addr().String(), "node", app.node, "redis", cfg.RedisURL != "", "redis_mode", cfg.RedisMode, "recovery", cfg.Recovery)
	// A line for scripts and tests that wait for the server.
	fmt.Printf("listening on %s\n", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		app.shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	app.shutdown(sctx)
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
