package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/socketio"
)

// The Examples of the common tasks. Each starts a server on a loopback port
// and talks to it with the package's client.

type credentials struct {
	Token string `json:"token"`
}

type user struct {
	Name string
}

// Connect middleware with a typed auth payload: the client's auth object
// decodes into a struct, and the socket data keeps a typed value.
func ExampleAuthMiddleware() {
	tokens := map[string]string{"t-ann": "ann"}
	srv := socketio.NewServer(nil)
	srv.Use(socketio.AuthMiddleware(func(s *socketio.Socket, c credentials) error {
		name, ok := tokens[c.Token]
		if !ok {
			return &socketio.ConnectError{Message: "unauthorized"}
		}
		s.SetData(user{Name: name})
		return nil
	}))
	srv.OnConnection(func(s *socketio.Socket) {
		u, _ := socketio.Data[user](s)
		s.Emit("welcome", "hello "+u.Name)
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	withToken := func(tok string) *socketio.ClientOptions {
		return &socketio.ClientOptions{ClientSocketOptions: socketio.ClientSocketOptions{Auth: credentials{tok}}}
	}
	_, err := socketio.Connect(ctx, hs.URL, withToken("forged"))
	fmt.Println("refused:", err)

	c, err := socketio.NewClientSocket(hs.URL, withToken("t-ann"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()
	welcome := make(chan string, 1)
	socketio.OnClient(c, "welcome", func(msg string, _ socketio.AckFunc) { welcome <- msg }, nil)
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-welcome)
	// Output:
	// refused: unauthorized
	// hello ann
}

type chatIn struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// A typed event handler: the first argument decodes into a struct. An
// argument that does not decode never reaches the handler: the client's
// acknowledgement gets a message meant for it, the socket's OnError handlers
// get the Go detail.
func ExampleOn() {
	srv := socketio.NewServer(nil)
	serverErrs := make(chan error, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnError(func(_ *socketio.Socket, err error) { serverErrs <- err })
		socketio.On(s, "chat", func(s *socketio.Socket, m chatIn, ack socketio.AckFunc) {
			s.To(m.Room).Emit("chat", m.Text)
			if ack != nil {
				ack("sent to " + m.Room)
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := socketio.Connect(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()

	res, err := c.EmitWithAck(ctx, "chat", chatIn{Room: "lobby", Text: "hi"})
	answer, _ := socketio.Decode[string](res, 0)
	fmt.Println(answer, err)

	res, err = c.EmitWithAck(ctx, "chat", map[string]any{"room": 5})
	refusal, _ := socketio.Decode[socketio.AckError](res, 0)
	fmt.Println("client reads:", refusal.Error, err)
	var ae *socketio.ArgError
	if err := <-serverErrs; errors.As(err, &ae) {
		fmt.Println("server sees:", ae.Event, "argument", ae.Index)
	}
	// Output:
	// sent to lobby <nil>
	// client reads: invalid argument 1: "room" must be a string <nil>
	// server sees: chat argument 0
}

// Rooms: a socket joins rooms on request; a broadcast to a room reaches its
// members only.
func ExampleSocket_Join() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		socketio.On(s, "join", func(s *socketio.Socket, room string, ack socketio.AckFunc) {
			if err := s.Join(room); err != nil {
				ack(socketio.AckError{Error: "cannot join"})
				return
			}
			ack(len(s.Rooms())) // its own room (its id) and room
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	got := make(chan string, 4)
	connect := func(name string) *socketio.ClientSocket {
		c, err := socketio.NewClientSocket(hs.URL, nil)
		if err != nil {
			log.Fatal(err)
		}
		socketio.OnClient(c, "news", func(text string, _ socketio.AckFunc) { got <- name + ": " + text }, nil)
		if err := c.Connect(ctx); err != nil {
			log.Fatal(err)
		}
		return c
	}
	ann, bob := connect("ann"), connect("bob")
	defer ann.Manager().Close()
	defer bob.Manager().Close()
	res, err := ann.EmitWithAck(ctx, "join", "lobby")
	n, _ := socketio.Decode[int](res, 0)
	fmt.Println("ann is in", n, "rooms", err)

	srv.To("lobby").Emit("news", "for the lobby")
	srv.Except("lobby").Emit("news", "for the others")
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Unordered output:
	// ann is in 2 rooms <nil>
	// ann: for the lobby
	// bob: for the others
}

// Acknowledgements with a timeout, from both sides: the same ErrAckTimeout
// ends a wait on the server and on the client.
func ExampleSocket_EmitWithAck() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("never-answered", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := socketio.NewClientSocket(hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()
	socketio.OnClient(c, "question", func(q string, ack socketio.AckFunc) { ack(len(q)) }, nil)
	c.On("ignored", func(socketio.Args, socketio.AckFunc) {})
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	// server to client: the deadline of ctx bounds the wait
	s := srv.Of("/").Socket(c.ID())
	actx, acancel := context.WithTimeout(ctx, 3*time.Second)
	res, err := s.EmitWithAck(actx, "question", "how long is this?")
	acancel()
	n, _ := socketio.Decode[int](res, 0)
	fmt.Println("answer:", n, err)
	actx, acancel = context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = s.EmitWithAck(actx, "ignored")
	acancel()
	fmt.Println("server:", errors.Is(err, socketio.ErrAckTimeout), err)

	// client to server: Timeout on the emit (or ctx's deadline)
	_, err = c.Timeout(100*time.Millisecond).EmitWithAck(ctx, "never-answered")
	fmt.Println("client:", errors.Is(err, socketio.ErrAckTimeout), err)
	// Output:
	// answer: 17 <nil>
	// server: true socketio: operation has timed out
	// client: true socketio: operation has timed out
}

// A broadcast from a plain HTTP handler: the Socket.IO server and the rest of
// the application share one http.ServeMux.
func ExampleServer_To() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) { s.Join("alerts") })
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("POST /notify", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.To("alerts").Emit("alert", r.FormValue("msg")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer shutdown(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	c, err := socketio.NewClientSocket(hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()
	alerts := make(chan string, 1)
	socketio.OnClient(c, "alert", func(msg string, _ socketio.AckFunc) { alerts <- msg }, nil)
	if err := c.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	resp, err := http.PostForm(hs.URL+"/notify", url.Values{"msg": {"disk full"}})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, <-alerts)
	// Output: 204 disk full
}

// Graceful shutdown: Server.Shutdown disconnects the sockets (their
// disconnect handlers run) and waits for the server's goroutines; then
// http.Server.Shutdown ends the HTTP side. In that order: a long-polling
// request is answered by the first, not left for the second to wait on.
func ExampleServer_Shutdown() {
	srv := socketio.NewServer(nil)
	reasons := make(chan socketio.DisconnectReason, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(_ *socketio.Socket, r socketio.DisconnectReason) { reasons <- r })
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	httpSrv := &http.Server{Handler: mux}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := socketio.Connect(ctx, "http://"+ln.Addr().String(), &socketio.ClientOptions{
		ManagerOptions: socketio.ManagerOptions{DisableReconnection: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Manager().Close()

	// on SIGTERM (signal.NotifyContext), with a bound on the wait:
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	fmt.Println("socket.io:", srv.Shutdown(sctx))
	fmt.Println("http:", httpSrv.Shutdown(sctx), <-served)
	fmt.Println("the socket left with:", <-reasons)
	// Output:
	// socket.io: <nil>
	// http: <nil> http: Server closed
	// the socket left with: server shutting down
}

// A failing adapter (here, a Redis server that does not answer) is the
// caller's error: New returns it, where NewServer would panic.
func ExampleNew() {
	_, err := socketio.New(&socketio.ServerOptions{
		Adapter: func(adapter.Namespace) (adapter.Adapter, error) {
			return nil, errors.New("redis: no answer")
		},
	})
	var ae *socketio.AdapterError
	fmt.Println(errors.As(err, &ae), ae.Namespace, err)
	// Output: true / socketio: namespace /: adapter: redis: no answer
}
