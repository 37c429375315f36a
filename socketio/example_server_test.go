package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// A chat server: a connect middleware checks the auth payload, event handlers
// answer acknowledgements and broadcast to a room.
func ExampleNewServer() {
	srv := socketio.NewServer(nil) // path /socket.io/, JSON parser, in-memory adapter
	type auth struct {
		Name string `json:"name"`
	}
	srv.Use(socketio.AuthMiddleware(func(s *socketio.Socket, a auth) error {
		if a.Name == "" {
			return &socketio.ConnectError{Message: "who are you?", Data: map[string]any{"need": "name"}}
		}
		s.SetData(a.Name)
		return nil
	}))
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Join("lobby")
		socketio.On(s, "say", func(s *socketio.Socket, text string, ack socketio.AckFunc) {
			name, _ := socketio.Data[string](s)
			_ = s.To("lobby").Emit("said", name, text) // everyone in the lobby but s
			if ack != nil {
				_ = ack("delivered")
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := socketio.Connect(ctx, hs.URL, nil)
	var ce *socketio.ConnectError
	fmt.Println("without a name:", errors.As(err, &ce), ce.Message)

	c, err := socketio.Connect(ctx, hs.URL, &socketio.ClientOptions{
		ClientSocketOptions: socketio.ClientSocketOptions{Auth: map[string]any{"name": "ann"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Manager().Close()
	res, err := c.EmitWithAck(ctx, "say", "hello")
	var answer string
	if err == nil {
		err = res.Decode(0, &answer)
	}
	fmt.Println(answer, err)
	// Output:
	// without a name: true who are you?
	// delivered <nil>
}

// Broadcast operators are immutable values; EmitWithAck collects every
// target's answer until its timeout.
func ExampleBroadcastOperator_EmitWithAck() {
	srv := socketio.NewServer(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, name := range []string{"a", "b"} {
		c, err := socketio.NewClientSocket(hs.URL, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		c.On("version?", func(args socketio.Args, ack socketio.AckFunc) {
			if ack != nil && name == "a" { // b never answers
				_ = ack("1.0")
			}
		})
		if err := c.Connect(ctx); err != nil {
			fmt.Println(err)
			return
		}
		defer c.Manager().Close()
	}
	res, err := srv.Of("/").Timeout(200*time.Millisecond).EmitWithAck(ctx, "version?")
	fmt.Println(len(res.Responses), "answer,", len(res.Missing), "missing:", err)
	// Output:
	// 1 answer, 1 missing: socketio: operation has timed out
}

func shutdown(srv *socketio.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Println("shutdown:", err)
	}
}
