package main

import (
	"context"
	"net/http"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/socketio"
)

func init() {
	mounts = append(mounts, func(mux *http.ServeMux, shutdown *[]func(context.Context) error) {
		srv := newSuiteSocketIO()
		mux.Handle("/socket.io/", srv)
		*shutdown = append(*shutdown, srv.Shutdown)
	})
}

// newSuiteSocketIO returns the Socket.IO server the official socket.io-protocol
// suite expects: namespaces "/" and "/custom" (and no other), each emitting
// "auth" with the CONNECT payload on connection, "message" answered by
// "message-back" with the same arguments, and "message-with-ack" acknowledged
// with its arguments.
func newSuiteSocketIO() *socketio.Server {
	srv := socketio.NewServer(&socketio.ServerOptions{
		ConnectTimeout: time.Second,
		Engine: &engineio.ServerOptions{
			PingInterval:      pingInterval,
			PingTimeout:       pingTimeout,
			MaxHTTPBufferSize: maxPayload,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		},
	})
	onConnection := func(s *socketio.Socket) {
		var auth any = map[string]any{}
		if a := s.Handshake().Auth; a != nil {
			auth = a
		}
		_ = s.Emit("auth", auth)
		s.On("message", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			_ = s.Emit("message-back", args...)
		})
		s.On("message-with-ack", func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args...)
			}
		})
	}
	srv.OnConnection(onConnection)
	srv.Of("/custom").OnConnection(onConnection)
	return srv
}
