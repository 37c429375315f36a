package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/corvid-io/corvid/socketio"
)

// clientExampleServer starts an in-process server for the client examples: "/"
// and "/admin" answer "hello" with an acknowledgement of "hi <name>" and greet
// every connection; "/" refuses the token "bad".
func clientExampleServer() (url string, stop func()) {
	srv := socketio.NewServer(nil)
	onConn := func(s *socketio.Socket) {
		s.Emit("welcome", s.Namespace().Name())
		s.On("hello", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var name string
			args.Decode(0, &name)
			if ack != nil {
				ack("hi " + name)
			}
		})
	}
	srv.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if v, ok := s.Handshake().Auth.(interface{ Decode(any) error }); ok {
			v.Decode(&auth)
		}
		if auth.Token == "bad" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"retry": false}}
		}
		return nil
	})
	srv.OnConnection(onConn)
	srv.Of("/admin").OnConnection(onConn)
	hs := httptest.NewServer(srv)
	return hs.URL, func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
}

// Connect a socket, handle an event, and wait for an acknowledgement.
func ExampleNewClientSocket() {
	url, stop := clientExampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	s, err := socketio.NewClientSocket(url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Manager().Close()
	welcome := make(chan string, 1)
	// Handlers are set before connecting, so that no event is missed.
	s.On("welcome", func(args socketio.Args, ack socketio.AckFunc) {
		var nsp string
		args.Decode(0, &nsp)
		welcome <- nsp
	})
	if err := s.Connect(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("welcome to", <-welcome)

	res, err := s.EmitWithAck(ctx, "hello", "gopher")
	if err != nil {
		fmt.Println(err)
		return
	}
	var answer string
	res.Decode(0, &answer)
	fmt.Println(answer)
	// Output:
	// welcome to /
	// hi gopher
}

// Sockets of several namespaces share one Engine.IO connection when they come
// from the same Manager (or the same ClientCache).
func ExampleManager_Socket() {
	url, stop := clientExampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	m, err := socketio.NewManager(url, &socketio.ManagerOptions{
		ReconnectionDelay: 100 * time.Millisecond,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	main := m.Socket("/", nil)
	admin := m.Socket("/admin", &socketio.ClientSocketOptions{AckTimeout: 5 * time.Second})
	for _, s := range []*socketio.ClientSocket{main, admin} {
		if err := s.Connect(ctx); err != nil {
			fmt.Println(err)
			return
		}
	}
	res, err := admin.EmitWithAck(ctx, "hello", "admin")
	if err != nil {
		fmt.Println(err)
		return
	}
	var answer string
	res.Decode(0, &answer)
	fmt.Println(answer, m.Connected())
	// Output: hi admin true
}

// A refusal by a server middleware is a *ConnectError with the server's message
// and data.
func ExampleConnect() {
	url, stop := clientExampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	opts := &socketio.ClientOptions{}
	opts.Auth = map[string]any{"token": "bad"}
	_, err := socketio.Connect(ctx, url, opts)
	var ce *socketio.ConnectError
	if errors.As(err, &ce) {
		fmt.Println(ce.Message, ce.Data)
	}
	// Output: not authorized map[retry:false]
}

// ClientCache reuses one Manager per server, like io() in socket.io-client;
// closing the cache closes them all.
func ExampleClientCache() {
	url, stop := clientExampleServer()
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var cache socketio.ClientCache
	defer cache.Close()
	a, err := cache.Connect(ctx, url, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := cache.Connect(ctx, url+"/admin", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Manager() == b.Manager())
	// Output: true
}
