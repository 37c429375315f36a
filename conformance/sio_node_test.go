package conformance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
	"github.com/corvid-io/corvid/socketio"
)

// sioInteropServer is the Go server conformance/node/sio_client.js runs its
// scenario against. Disconnect reasons are reported on reasons by socket id.
func sioInteropServer(p parser.Parser, reasons chan<- [2]string) *socketio.Server {
	srv := socketio.NewServer(&socketio.ServerOptions{
		Parser: p,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Engine: &engineio.ServerOptions{PingInterval: time.Second, PingTimeout: time.Second},
	})
	root := srv.Of("/")
	srv.OnConnection(func(s *socketio.Socket) {
		var auth any = map[string]any{}
		if a := s.Handshake().Auth; a != nil {
			auth = a
		}
		_ = s.Emit("welcome", auth)
		s.OnDisconnect(func(s *socketio.Socket, r socketio.DisconnectReason) {
			reasons <- [2]string{s.ID(), string(r)}
		})
		echo := func(_ *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args...)
			}
		}
		s.On("echo", echo)
		s.On("echo-all", echo)
		s.On("ask", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			// waits for the client's ack inside a handler
			ctx, cancel := context.WithTimeout(s.Context(), 3*time.Second)
			defer cancel()
			res, err := s.EmitWithAck(ctx, "question", 41, []byte{7, 8})
			var n float64
			var bin []byte
			if err == nil {
				err = errors.Join(res.Decode(0, &n), res.Decode(1, &bin))
			}
			if err != nil {
				_ = ack(err.Error())
				return
			}
			ints := make([]any, len(bin))
			for i, b := range bin {
				ints[i] = int(b)
			}
			_ = ack(map[string]any{"got": n, "bin": ints})
		})
		s.On("ask-timeout", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			ctx, cancel := context.WithTimeout(s.Context(), 200*time.Millisecond)
			defer cancel()
			_, err := s.EmitWithAck(ctx, "ignored")
			if errors.Is(err, socketio.ErrAckTimeout) {
				_ = ack("timeout")
				return
			}
			_ = ack("unexpected: " + errString(err))
		})
		s.On("join", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var room string
			_ = args.Decode(0, &room)
			_ = s.Join(room)
			_ = ack(true)
		})
		s.On("broadcast", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			var room string
			_ = args.Decode(0, &room)
			_ = s.To(room).Emit("bc", args...)
		})
		s.On("volatile", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {
			_ = root.Volatile().Emit("vol", 1)
		})
		s.On("poll-all", func(s *socketio.Socket, _ socketio.Args, ack socketio.AckFunc) {
			res, err := root.To("blue").Timeout(500*time.Millisecond).EmitWithAck(context.Background(), "poll")
			answers := []any{}
			for _, r := range res.Responses {
				var v string
				_ = r.Args.Decode(0, &v)
				answers = append(answers, v)
			}
			_ = ack(map[string]any{"responses": answers, "missing": len(res.Missing),
				"timeout": errors.Is(err, socketio.ErrAckTimeout)})
		})
		s.On("disconnect-me", func(s *socketio.Socket, _ socketio.Args, _ socketio.AckFunc) { s.Disconnect(false) })
		s.On("drop-transport", func(s *socketio.Socket, _ socketio.Args, _ socketio.AckFunc) { s.CloseConn() })
	})
	srv.Of("/custom").OnConnection(func(s *socketio.Socket) {
		s.On("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var v string
			_ = args.Decode(0, &v)
			_ = ack(v + ":" + s.Namespace().Name())
		})
	})
	srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("hello-dyn", s.Namespace().Name())
	})
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if v, ok := s.Handshake().Auth.(parser.Value); ok {
			_ = v.Decode(&auth)
		}
		if auth.Token != "secret" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"reason": "bad token"}}
		}
		return nil
	})
	return srv
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// TestSIONodeClient runs npm socket.io-client 4.8 (conformance/node/sio_client.js)
// against our server, over polling only, websocket only and an upgrade, and with
// the msgpack parser (socket.io-msgpack-parser on the client).
func TestSIONodeClient(t *testing.T) {
	for _, tc := range []struct {
		mode, parser string
	}{
		{"polling", "json"}, {"websocket", "json"}, {"upgrade", "json"}, {"websocket", "msgpack"}, {"polling", "msgpack"},
	} {
		t.Run(tc.mode+"/"+tc.parser, func(t *testing.T) {
			p := parser.JSON
			if tc.parser == "msgpack" {
				p = parser.Msgpack()
			}
			reasons := make(chan [2]string, 64)
			srv := sioInteropServer(p, reasons)
			hs := testutil.Serve(t, srv, srv.Shutdown)
			node := testutil.StartNode(t, "conformance/node/sio_client.js", hs.URL, tc.mode, tc.parser)
			node.WaitLine(t, "done", 60*time.Second)
			steps := []string{"connect", "welcome", "ack-client-to-server", "binary-both-ways",
				"ack-server-to-client", "server-ack-timeout", "client-ack-timeout", "rooms-broadcast-except",
				"volatile", "broadcast-emitWithAck", "custom-namespace", "dynamic-namespace",
				"middleware-rejection", "server-disconnect", "reconnect-after-transport-drop", "client-disconnect"}
			lines := node.Lines()
			for _, l := range lines {
				if strings.HasPrefix(l, "fail ") {
					t.Errorf("node: %s", l)
				}
			}
			for _, s := range steps {
				if !contains(lines, "ok "+s) {
					t.Errorf("step %s did not pass", s)
				}
			}
			left := node.WaitLine(t, "left ", time.Second)
			id := strings.TrimPrefix(left, "left ")
			if r := waitReason(t, reasons, id); r != string(socketio.ReasonClientNamespaceDisconnect) {
				t.Errorf("server saw %q for the client's disconnect", r)
			}
		})
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// waitReason returns the disconnect reason the server reported for id.
func waitReason(t *testing.T, reasons <-chan [2]string, id string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case r := <-reasons:
			if r[0] == id {
				return r[1]
			}
		case <-timeout:
			t.Fatalf("no disconnect reported for %s", id)
			return ""
		}
	}
}
