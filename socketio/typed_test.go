package socketio

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

type typedChat struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

type typedAuth struct {
	Name string `json:"name"`
}

type typedUser struct{ Name string }

// typedServer runs a Server whose main namespace uses the typed forms: an
// AuthMiddleware, Data, and On with a struct argument. errs receives what
// the sockets' OnError handlers get.
func typedServer(t *testing.T) (*Server, string, chan error) {
	t.Helper()
	srv := NewServer(nil)
	errs := make(chan error, 8)
	srv.Use(AuthMiddleware(func(s *Socket, a typedAuth) error {
		if a.Name == "" {
			return &ConnectError{Message: "name required"}
		}
		s.SetData(typedUser(a))
		return nil
	}))
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(_ *Socket, err error) { errs <- err })
		On(s, "chat", func(s *Socket, m typedChat, ack AckFunc) {
			u, _ := Data[typedUser](s)
			ack(u.Name + "@" + m.Room + ": " + m.Text)
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, hs.URL, errs
}

func TestTypedHandlers(t *testing.T) {
	srv, url, errs := typedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// the auth payload: missing, of the wrong shape, then right
	if _, err := Connect(ctx, url, nil); err == nil || err.Error() != "name required" {
		t.Fatalf("no auth: %v", err)
	}
	bad := &ClientOptions{ClientSocketOptions: ClientSocketOptions{Auth: map[string]any{"name": 7}}}
	if _, err := Connect(ctx, url, bad); err == nil || err.Error() != "invalid auth payload" {
		t.Fatalf("bad auth: %v", err)
	}
	c, err := Connect(ctx, url, &ClientOptions{ClientSocketOptions: ClientSocketOptions{Auth: map[string]any{"name": "ann"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()

	res, err := c.EmitWithAck(ctx, "chat", map[string]any{"room": "lobby", "text": "hi"})
	if got, _ := Decode[string](res, 0); err != nil || got != "ann@lobby: hi" {
		t.Fatalf("typed event: %q %v", got, err)
	}

	// a wrong type: the client reads which field, never a Go type name; the
	// OnError handler gets the Go detail
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{map[string]any{"room": 1}}, `invalid argument 1: "room" must be a string`},
		{[]any{"text"}, `invalid argument 1: must be an object`},
		{nil, `missing argument 1`},
	} {
		res, err := c.EmitWithAck(ctx, "chat", tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		answer, err := Decode[AckError](res, 0)
		if err != nil || answer.Error != tc.want {
			t.Fatalf("answer to %v: %+v %v, want %q", tc.args, answer, err, tc.want)
		}
		var ae *ArgError
		select {
		case err := <-errs:
			if !errors.As(err, &ae) || ae.Event != "chat" || ae.Index != 0 {
				t.Fatalf("OnError got %v", err)
			}
			if tc.args != nil && !strings.Contains(err.Error(), "typedChat") && !strings.Contains(err.Error(), "json:") {
				t.Fatalf("the server-side error lost its Go detail: %v", err)
			}
			if tc.args == nil && !errors.Is(err, ErrNoArgument) {
				t.Fatalf("missing argument: %v", err)
			}
		case <-ctx.Done():
			t.Fatal("no error reported to OnError")
		}
	}

	// the socket data, typed, across FetchSockets
	rs, err := srv.FetchSockets(ctx)
	if err != nil || len(rs) != 1 {
		t.Fatalf("FetchSockets: %v %v", rs, err)
	}
	if u, err := RemoteData[typedUser](rs[0]); err != nil || u.Name != "ann" {
		t.Fatalf("RemoteData: %+v %v", u, err)
	}
	if _, ok := Data[string](srv.Of("/").Socket(rs[0].ID)); ok {
		t.Fatal("Data of the wrong type reported ok")
	}
}

func TestTypedClientHandler(t *testing.T) {
	srv, url, _ := typedServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := NewClientSocket(url, &ClientOptions{ClientSocketOptions: ClientSocketOptions{Auth: map[string]any{"name": "bob"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Manager().Close()
	got := make(chan int, 1)
	clientErrs := make(chan error, 1)
	OnClient(c, "n", func(v int, ack AckFunc) {
		got <- v
		ack(v * 2)
	}, func(err error) { clientErrs <- err })
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	s := srv.Of("/").Socket(c.ID())
	res, err := s.EmitWithAck(ctx, "n", 21)
	if v, _ := Decode[int](res, 0); err != nil || v != 42 || <-got != 21 {
		t.Fatalf("typed client handler: %v %v", res, err)
	}
	res, err = s.EmitWithAck(ctx, "n", "x")
	if a, _ := Decode[AckError](res, 0); err != nil || a.Error != "invalid argument 1: must be an integer" {
		t.Fatalf("answer to a bad argument: %+v %v", a, err)
	}
	var ae *ArgError
	if err := <-clientErrs; !errors.As(err, &ae) || ae.Event != "n" {
		t.Fatalf("onErr: %v", err)
	}
}

func TestArgsDecodeRelayedValues(t *testing.T) {
	// values an adapter relays from another server are plain Go trees
	args := Args{"s", 3.0, map[string]any{"room": "r", "text": "t"}, []byte{1, 2}}
	if v, err := Decode[string](args, 0); err != nil || v != "s" {
		t.Fatalf("string: %q %v", v, err)
	}
	if v, err := Decode[int](args, 1); err != nil || v != 3 {
		t.Fatalf("int: %v %v", v, err)
	}
	if v, err := Decode[typedChat](args, 2); err != nil || v != (typedChat{"r", "t"}) {
		t.Fatalf("struct: %+v %v", v, err)
	}
	if v, err := Decode[[]byte](args, 3); err != nil || len(v) != 2 || v[1] != 2 {
		t.Fatalf("bytes: %v %v", v, err)
	}
	if _, err := Decode[int](args, 0); err == nil {
		t.Fatal("a string decoded into an int")
	}
	if _, err := Decode[int](args, 4); !errors.Is(err, ErrNoArgument) {
		t.Fatalf("past the end: %v", err)
	}
}

// A server-side event reaches the handlers registered for its name, with
// its arguments only (the adapter passes the event name first).
func TestServerSideEmitHandlersGetArguments(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Shutdown(context.Background())
	var got []string
	srv.OnServerSideEmit("hello", func(args Args, ack func(any)) {
		v, err := Decode[string](args, 0)
		got = append(got, v+"/"+strconv.Itoa(args.Len()))
		if err != nil || args.Len() != 1 {
			t.Errorf("args %v: %v", args, err)
		}
		ack(v + "!")
	})
	srv.OnServerSideEmit("other", func(Args, func(any)) { got = append(got, "other") })
	var answer any
	adapterView{srv.Of("/")}.ServerSideEmit([]any{"hello", "world"}, func(a any) { answer = a })
	adapterView{srv.Of("/")}.ServerSideEmit([]any{}, nil) // nothing to dispatch
	if len(got) != 1 || got[0] != "world/1" || answer != "world!" {
		t.Fatalf("got %v, answer %v", got, answer)
	}
	// alone in its cluster: no answers, an empty Args
	res, err := srv.ServerSideEmitWithAck(context.Background(), "hello", 1)
	if err != nil || res == nil || res.Len() != 0 {
		t.Fatalf("ServerSideEmitWithAck alone: %#v %v", res, err)
	}
}
