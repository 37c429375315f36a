package main

import (
	"context"
	"net/http"

	"github.com/corvid-io/corvid/engineio"
)

func init() {
	mounts = append(mounts, func(mux *http.ServeMux, shutdown *[]func(context.Context) error) {
		srv := engineio.NewServer(eioEcho, &engineio.ServerOptions{
			Path:              "/engine.io/",
			PingInterval:      pingInterval,
			PingTimeout:       pingTimeout,
			MaxHTTPBufferSize: maxPayload,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		})
		mux.Handle("/engine.io/", srv)
		*shutdown = append(*shutdown, srv.Shutdown)
	})
}

// eioEcho sends every message back unchanged, as the Engine.IO suite expects.
func eioEcho(s *engineio.Session) {
	ctx := s.Context()
	for {
		m, err := s.Read(ctx)
		if err != nil {
			return
		}
		if s.Send(m) != nil {
			return
		}
	}
}
