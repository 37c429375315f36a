package socketio

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/parser"
)

func newTestServer(t testing.TB, opts *ServerOptions) *Server {
	t.Helper()
	if opts == nil {
		opts = &ServerOptions{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := NewServer(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

// echoServer: "message" -> "message-back", "message-with-ack" -> ack, and
// "auth" emitted on connection, like the official suite's server.
func echoServer(t testing.TB, opts *ServerOptions) *Server {
	srv := newTestServer(t, opts)
	h := func(s *Socket) {
		var auth any = map[string]any{}
		if a := s.Handshake().Auth; a != nil {
			auth = a
		}
		s.Emit("auth", auth)
		s.On("message", func(s *Socket, args Args, _ AckFunc) { s.Emit("message-back", args...) })
		s.On("message-with-ack", func(_ *Socket, args Args, ack AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
	}
	srv.OnConnection(h)
	srv.Of("/custom").OnConnection(h)
	return srv
}

func TestMessageLayout(t *testing.T) {
	// toEngine reinterprets []parser.Message as []engineio.Message.
	var p parser.Message
	var e engineio.Message
	if unsafe.Sizeof(p) != unsafe.Sizeof(e) ||
		unsafe.Offsetof(p.Binary) != unsafe.Offsetof(e.Binary) ||
		unsafe.Offsetof(p.Data) != unsafe.Offsetof(e.Data) {
		t.Fatal("parser.Message and engineio.Message differ in layout")
	}
	in := []parser.Message{{Binary: true, Data: []byte{1}}, {Data: []byte("x")}}
	out := toEngine(in)
	if len(out) != 2 || !out[0].Binary || out[0].Data[0] != 1 || string(out[1].Data) != "x" {
		t.Fatalf("toEngine: %+v", out)
	}
}

func TestSocketID(t *testing.T) {
	seen := map[string]bool{}
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	for range 1000 {
		id := newID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestConnectMainAndCustom(t *testing.T) {
	srv := echoServer(t, nil)
	c := dial(t, srv)
	c.send("0")
	got := c.expectPrefix(`0{"sid":"`)
	if !regexp.MustCompile(`^0\{"sid":"[A-Za-z0-9_-]{20}"\}$`).MatchString(got) {
		t.Fatalf("CONNECT reply %q", got)
	}
	c.expect(`2["auth",{}]`)
	c.send(`0/custom,{"token":"abc"}`)
	c.expectPrefix(`0/custom,{"sid":"`)
	c.expect(`2/custom,["auth",{"token":"abc"}]`)
	c.send(`0/random`)
	c.expect(`4/random,{"message":"Invalid namespace"}`)
	// the connection stays usable
	c.send(`2["message",1,"2",{"3":[true]}]`)
	c.expect(`2["message-back",1,"2",{"3":[true]}]`)
}

func TestEventsAndAcks(t *testing.T) {
	srv := echoServer(t, nil)
	c := dial(t, srv)
	c.connect("/")
	c.expect(`2["auth",{}]`)
	c.send(`2456["message-with-ack",1,"2",{"3":[false]}]`)
	c.expect(`3456[1,"2",{"3":[false]}]`)
	// binary both ways
	c.send(`52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expect(`52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
	c.send(`52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expect(`62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})
}

func TestDecodeArgs(t *testing.T) {
	srv := newTestServer(t, nil)
	type got struct {
		n    float64
		name string
		bin  []byte
		deep []byte
		err  error
	}
	ch := make(chan got, 1)
	srv.OnConnection(func(s *Socket) {
		s.On("data", func(s *Socket, args Args, ack AckFunc) {
			var g got
			var obj struct {
				Name string `json:"name"`
				Nest struct {
					Bin []byte `json:"bin"`
				} `json:"nest"`
			}
			g.err = errors.Join(args.Decode(0, &g.n), args.Decode(1, &obj), args.Decode(2, &g.bin))
			g.name, g.deep = obj.Name, obj.Nest.Bin
			if err := args.Decode(3, new(any)); !errors.Is(err, ErrNoArgument) {
				g.err = errors.Join(g.err, errors.New("no error for a missing argument"))
			}
			ch <- g
			ack(map[string]any{"deep": []any{[]byte{9}}})
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`52-1["data",42,{"name":"x","nest":{"bin":{"_placeholder":true,"num":1}}},{"_placeholder":true,"num":0}]`)
	c.sendBinary([]byte{7})
	c.sendBinary([]byte{8})
	g := <-ch
	if g.err != nil || g.n != 42 || g.name != "x" || string(g.bin) != "\x07" || string(g.deep) != "\x08" {
		t.Fatalf("decoded %+v", g)
	}
	c.expect(`61-1[{"deep":[{"_placeholder":true,"num":0}]}]`)
	c.expectBinary([]byte{9})
}

func TestMiddleware(t *testing.T) {
	srv := newTestServer(t, nil)
	admin := srv.Of("/admin")
	var seenQuery string
	admin.Use(func(s *Socket) error {
		seenQuery = s.Handshake().Query.Get("foo")
		var auth struct {
			Token string `json:"token"`
		}
		if a, ok := s.Handshake().Auth.(parser.Value); ok {
			_ = a.Decode(&auth)
		}
		if auth.Token != "ok" {
			return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 42}}
		}
		s.SetData("user-1")
		return nil
	})
	admin.Use(func(s *Socket) error {
		if s.Data() != "user-1" {
			return errors.New("second middleware saw no data")
		}
		return nil
	})
	connected := make(chan string, 1)
	admin.OnConnection(func(s *Socket) { connected <- s.Data().(string) })
	c := dial(t, srv)
	c.send(`0/admin,{"token":"bad"}`)
	c.expect(`4/admin,{"message":"not authorized","data":{"code":42}}`)
	c.send(`0/admin,{"token":"ok"}`)
	c.expectPrefix(`0/admin,{"sid":"`)
	if d := <-connected; d != "user-1" || seenQuery != "bar" {
		t.Fatalf("data %q, query %q", d, seenQuery)
	}
	srv.Use(func(*Socket) error { return errors.New("plain error") })
	c.send("0")
	c.expect(`4{"message":"plain error"}`)
}

func TestPacketMiddlewareAndAny(t *testing.T) {
	srv := newTestServer(t, nil)
	var mu sync.Mutex
	var log []string
	add := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	done := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.OnAny(func(_ *Socket, ev string, _ Args) { add("any:" + ev) })
		s.OnAnyOutgoing(func(_ *Socket, ev string, _ []any) { add("out:" + ev) })
		s.Use(func(_ *Socket, ev string, _ Args) error {
			if ev == "blocked" {
				return errors.New("blocked")
			}
			return nil
		})
		s.OnError(func(_ *Socket, err error) { add("err:" + err.Error()) })
		s.On("ok", func(s *Socket, _ Args, _ AckFunc) { add("ok"); s.Emit("reply") })
		s.On("blocked", func(*Socket, Args, AckFunc) { add("blocked handler ran") })
		s.On("end", func(*Socket, Args, AckFunc) { close(done) })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`2["blocked"]`)
	c.send(`2["ok"]`)
	c.send(`2["end"]`)
	<-done
	c.expect(`2["reply"]`)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"any:blocked", "err:blocked", "any:ok", "ok", "out:reply", "any:end"}
	if !slices.Equal(log, want) {
		t.Fatalf("log %v, want %v", log, want)
	}
}

func TestServerEmitWithAck(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	type result struct {
		args Args
		err  error
	}
	res := make(chan result, 1)
	go func() {
		a, err := s.EmitWithAck(context.Background(), "q", []byte{1})
		res <- result{a, err}
	}()
	got := c.expectPrefix(`51-`)
	c.expectBinary([]byte{1})
	// answer with the ack id the server chose
	id := got[3 : len(got)-len(`["q",{"_placeholder":true,"num":0}]`)]
	c.send("3" + id + `["yes"]`)
	r := <-res
	var ans string
	if r.err != nil || r.args.Decode(0, &ans) != nil || ans != "yes" {
		t.Fatalf("EmitWithAck: %v %v", r.args, r.err)
	}
	// a timeout, then a late answer that is ignored
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "slow")
	if !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("err %v, want ErrAckTimeout", err)
	}
	late := c.expectPrefix("2")
	c.send("3" + late[1:len(late)-len(`["slow"]`)] + `["late"]`)
	// the callback form
	cb := make(chan string, 1)
	s.EmitWithCallback("cb", 0, func(a Args, err error) {
		var v string
		_ = a.Decode(0, &v)
		cb <- v
	})
	got = c.expectPrefix("2")
	c.send("3" + got[1:len(got)-len(`["cb"]`)] + `["via callback"]`)
	if v := <-cb; v != "via callback" {
		t.Fatalf("callback got %q", v)
	}
	errc := make(chan error, 1)
	s.EmitWithCallback("cb2", 20*time.Millisecond, func(_ Args, err error) { errc <- err })
	c.expectPrefix("2")
	if err := <-errc; !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("callback timeout: %v", err)
	}
	// ack arriving after disconnect is harmless
	pending := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "never")
		pending <- err
	}()
	got = c.expectPrefix("2")
	c.send("1")
	if err := <-pending; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("pending ack after disconnect: %v", err)
	}
	c.send("3" + got[1:len(got)-len(`["never"]`)] + `[]`) // not joined any more: closes
	if err := c.expectClosed(); err == nil {
		t.Fatal("no close")
	}
}

func TestAckFuncOnce(t *testing.T) {
	srv := newTestServer(t, nil)
	errc := make(chan error, 1)
	srv.OnConnection(func(s *Socket) {
		s.On("q", func(_ *Socket, _ Args, ack AckFunc) {
			ack(1)
			errc <- ack(2)
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`27["q"]`)
	c.expect(`37[1]`)
	if err := <-errc; !errors.Is(err, ErrAckSent) {
		t.Fatalf("second ack: %v", err)
	}
}

func TestDisconnects(t *testing.T) {
	srv := newTestServer(t, nil)
	type ev struct {
		id     string
		reason DisconnectReason
		rooms  []string
		cause  error
	}
	evs := make(chan ev, 4)
	left := make(chan struct{}, 4)
	sockets := make(chan *Socket, 4)
	srv.OnConnection(func(s *Socket) {
		s.Join("r")
		s.OnDisconnecting(func(s *Socket, r DisconnectReason) {
			evs <- ev{s.ID(), r, s.Rooms(), context.Cause(s.Context())}
		})
		// OnDisconnect runs once the socket has left its rooms.
		s.OnDisconnect(func(*Socket, DisconnectReason) { left <- struct{}{} })
		sockets <- s
	})
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	c.send("1")
	e := <-evs
	if e.reason != ReasonClientNamespaceDisconnect || !errors.Is(e.cause, ReasonClientNamespaceDisconnect) || !slices.Contains(e.rooms, "r") {
		t.Fatalf("client disconnect: %+v", e)
	}
	<-left
	if s.Connected() || len(s.Rooms()) != 0 {
		t.Fatal("socket still connected or in rooms")
	}
	// server-side disconnect without close: the connection stays
	c.connect("/")
	s = <-sockets
	s.Disconnect(false)
	c.expect("1")
	if e := <-evs; e.reason != ReasonServerNamespaceDisconnect {
		t.Fatalf("server disconnect: %+v", e)
	}
	c.connect("/")
	s = <-sockets
	s.Disconnect(true)
	if e := <-evs; e.reason != ReasonServerNamespaceDisconnect {
		t.Fatalf("server disconnect with close: %+v", e)
	}
	c.expectClosed()
	// the transport drops
	c2 := dial(t, srv)
	c2.connect("/")
	<-sockets
	c2.sess.closeWith(engineio.ReasonPingTimeout)
	if e := <-evs; e.reason != ReasonPingTimeout {
		t.Fatalf("transport drop: %+v", e)
	}
}

func TestBadInputClosesConnection(t *testing.T) {
	for _, tc := range []struct{ name, connect, bad string }{
		{"unknown type", "0", "abc"},
		{"event not an array", "0", `2{}`},
		{"bad ack id", "0", `2abc["message-with-ack",1]`},
		{"reserved event", "0", `2["disconnect"]`},
		{"namespace not joined", "0", `2/custom,["x"]`},
		{"second connect", "0", "0"},
		{"first packet not connect", "", `2["x"]`},
		{"attachment count mismatch", "0", `51-["x",{"_placeholder":true,"num":3}]`},
		{"binary without packet", "0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoServer(t, nil)
			c := dial(t, srv)
			if tc.connect != "" {
				c.connect("/")
				c.expect(`2["auth",{}]`)
			}
			if tc.bad == "" {
				c.sendBinary([]byte{1})
			} else {
				c.send(tc.bad)
				if tc.name == "attachment count mismatch" {
					c.sendBinary([]byte{1})
				}
			}
			c.expectClosed()
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{ConnectTimeout: 20 * time.Millisecond})
	c := dial(t, srv)
	c.expectClosed()
	c2 := dial(t, srv)
	c2.connect("/")
	time.Sleep(60 * time.Millisecond)
	select {
	case <-c2.sess.ctx.Done():
		t.Fatal("a connection that joined a namespace was closed by the connect timeout")
	default:
	}
}

func TestHandlerPanic(t *testing.T) {
	srv := newTestServer(t, nil)
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
		s.On("boom", func(*Socket, Args, AckFunc) { panic("boom") })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`2["boom"]`)
	c.expectClosed()
	if r := <-reasons; r != ReasonHandlerPanic {
		t.Fatalf("reason %q", r)
	}
	// the server still serves others
	c2 := dial(t, srv)
	c2.connect("/")
}

func TestDynamicNamespaces(t *testing.T) {
	srv := newTestServer(t, &ServerOptions{CleanupEmptyChildNamespaces: true})
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	parent.Use(func(s *Socket) error {
		if s.Namespace().Name() == "/dyn-0" {
			return errors.New("no zero")
		}
		return nil
	})
	joined := make(chan string, 4)
	parent.OnConnection(func(s *Socket) { joined <- s.Namespace().Name() })
	c := dial(t, srv)
	c.send("0/dyn-12,")
	c.expectPrefix(`0/dyn-12,{"sid":"`)
	if n := <-joined; n != "/dyn-12" {
		t.Fatalf("joined %q", n)
	}
	c.send("0/dyn-0,")
	c.expect(`4/dyn-0,{"message":"no zero"}`)
	c.send("0/dyn-x,")
	c.expect(`4/dyn-x,{"message":"Invalid namespace"}`)
	if ch := parent.Children(); len(ch) != 1 || ch[0].Name() != "/dyn-12" {
		t.Fatalf("children %v", ch)
	}
	if err := parent.Emit("hi"); err != nil {
		t.Fatal(err)
	}
	c.expect(`2/dyn-12,["hi"]`)
	c.send("1/dyn-12,")
	deadline := time.Now().Add(5 * time.Second)
	for len(parent.Children()) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("empty child namespace not cleaned up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// OfFunc sees the auth payload
	srv.OfFunc(func(name string, auth parser.Value) bool {
		var a map[string]any
		return name == "/f" && auth != nil && auth.Decode(&a) == nil && a["ok"] == true
	})
	c.send(`0/f,{"ok":false}`)
	c.expect(`4/f,{"message":"Invalid namespace"}`)
	c.send(`0/f,{"ok":true}`)
	c.expectPrefix(`0/f,{"sid":"`)
}

func TestRoomsAndBroadcast(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 8)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	var cs []*client
	var ss []*Socket
	for range 4 {
		c := dial(t, srv)
		c.connect("/")
		cs = append(cs, c)
		ss = append(ss, <-sockets)
	}
	ss[0].Join("a", "b")
	ss[1].Join("a")
	ss[2].Join("b")
	root := srv.Of("/")
	if err := root.To("a").To("b").Except(ss[2].ID()).Emit("x", 1); err != nil {
		t.Fatal(err)
	}
	cs[0].expect(`2["x",1]`)
	cs[1].expect(`2["x",1]`)
	// s0 broadcasts to everyone but itself
	ss[0].Broadcast().Emit("y")
	for _, c := range cs[1:] {
		c.expect(`2["y"]`)
	}
	ss[0].To("b").Emit("z")
	cs[2].expect(`2["z"]`)
	// operators are immutable values
	base := root.To("a")
	_ = base.To("b")
	_ = base.Except("a")
	base.Emit("w")
	cs[0].expect(`2["w"]`)
	cs[1].expect(`2["w"]`)
	for _, c := range cs {
		c.send(`2["end"]`) // nothing else was queued: the next message must be ours
	}
	ctx := context.Background()
	// fetchSockets / socketsJoin / socketsLeave / disconnectSockets
	rs, err := root.In("a").FetchSockets(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("FetchSockets: %v %v", rs, err)
	}
	for _, r := range rs {
		if !r.Local || r.Handshake == nil || !slices.Contains(r.Rooms, "a") {
			t.Fatalf("remote socket %+v", r)
		}
	}
	if err := root.In("b").SocketsJoin(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if r := ss[2].Rooms(); !slices.Contains(r, "c") {
		t.Fatalf("rooms %v", r)
	}
	root.SocketsLeave(ctx, "c")
	if r := ss[0].Rooms(); slices.Contains(r, "c") {
		t.Fatalf("rooms %v", r)
	}
	rs[0].Emit("direct")
	for i, s := range ss {
		if s.ID() == rs[0].ID {
			cs[i].expect(`2["direct"]`)
		}
	}
	ss[3].Leave(ss[3].ID())
	root.Except("a").DisconnectSockets(ctx, false)
	cs[2].expect("1")
	if ss[2].Connected() || !ss[0].Connected() {
		t.Fatal("wrong sockets disconnected")
	}
}

func TestBroadcastEmitWithAck(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 4)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	var cs []*client
	for range 3 {
		c := dial(t, srv)
		c.connect("/")
		<-sockets
		cs = append(cs, c)
	}
	type result struct {
		r   *BroadcastAcks
		err error
	}
	res := make(chan result, 1)
	go func() {
		r, err := srv.Of("/").Timeout(time.Second).EmitWithAck(context.Background(), "q")
		res <- result{r, err}
	}()
	for i, c := range cs {
		got := c.expectPrefix("2")
		if i < 2 {
			c.send("3" + got[1:len(got)-len(`["q"]`)] + `["a"]`)
		}
	}
	r := <-res
	if !errors.Is(r.err, ErrAckTimeout) || r.r.Expected != 3 || len(r.r.Responses) != 2 || len(r.r.Missing) != 1 {
		t.Fatalf("EmitWithAck: %+v %v", r.r, r.err)
	}
	go func() {
		r, err := srv.Of("/").EmitWithAck(context.Background(), "q2")
		res <- result{r, err}
	}()
	for _, c := range cs {
		got := c.expectPrefix("2")
		c.send("3" + got[1:len(got)-len(`["q2"]`)] + `["b"]`)
	}
	r = <-res
	if r.err != nil || len(r.r.Responses) != 3 || len(r.r.Missing) != 0 {
		t.Fatalf("EmitWithAck: %+v %v", r.r, r.err)
	}
}

func TestVolatileAndSlowConsumer(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 2)
	reasons := make(chan DisconnectReason, 2)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
		sockets <- s
	})
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	c.sess.mu.Lock()
	c.sess.limit = 1
	c.sess.mu.Unlock()
	srv.Of("/").Volatile().Emit("v1")
	srv.Of("/").Volatile().Emit("v2") // dropped: queue full
	if !s.Connected() {
		t.Fatal("volatile overflow disconnected the socket")
	}
	c.expect(`2["v1"]`)
	s.Emit("a")
	s.Emit("b") // over the limit
	if r := <-reasons; r != ReasonSlowConsumer {
		t.Fatalf("reason %q", r)
	}
}

func TestShutdown(t *testing.T) {
	srv := NewServer(&ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	reasons := make(chan DisconnectReason, 2)
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
	})
	c := dial(t, srv)
	c.connect("/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-reasons; r != ReasonServerShuttingDown {
		t.Fatalf("reason %q", r)
	}
	c.expectClosed()
}

func TestAnyOutgoingBroadcast(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 2)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	c1, c2 := dial(t, srv), dial(t, srv)
	c1.connect("/")
	s1 := <-sockets
	c2.connect("/")
	s2 := <-sockets
	var mu sync.Mutex
	var seen []string
	s1.OnAnyOutgoing(func(_ *Socket, ev string, args []any) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	})
	srv.Of("/").Emit("to-all", 1)
	s1.Broadcast().Emit("not-to-s1")
	s2.Broadcast().Emit("from-s2")
	srv.Of("/").Except(s1.ID()).Emit("except-s1")
	s1.Emit("own")
	c1.expect(`2["to-all",1]`)
	c1.expect(`2["from-s2"]`)
	c1.expect(`2["own"]`)
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"to-all", "from-s2", "own"}; !slices.Equal(seen, want) {
		t.Fatalf("outgoing %v, want %v", seen, want)
	}
}

func TestJoinAfterDisconnect(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 1)
	left := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(*Socket, DisconnectReason) { close(left) })
		sockets <- s
	})
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	c.send("1")
	<-left
	if err := s.Join("late"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Join after disconnect: %v", err)
	}
	if ids, _ := srv.Of("/").Adapter().Sockets(context.Background(), []string{"late"}); len(ids) != 0 {
		t.Fatalf("room late holds %v", ids)
	}
	if err := s.Emit("x"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Emit after disconnect: %v", err)
	}
}

func TestEventsBeforeDisconnectAreHandled(t *testing.T) {
	srv := newTestServer(t, nil)
	got := make(chan string, 4)
	srv.OnConnection(func(s *Socket) {
		s.On("slow", func(*Socket, Args, AckFunc) {
			time.Sleep(20 * time.Millisecond)
			got <- "slow"
		})
		s.On("next", func(*Socket, Args, AckFunc) { got <- "next" })
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { got <- string(r) })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`2["slow"]`)
	c.send(`2["next"]`)
	c.send("1")
	c.send("0") // reconnecting the namespace right away is allowed
	c.expectPrefix(`0{"sid":"`)
	for _, want := range []string{"slow", "next", string(ReasonClientNamespaceDisconnect)} {
		if g := <-got; g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
}

func TestEmitErrors(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	if err := s.Emit("disconnect"); err == nil {
		t.Fatal("a reserved event name was emitted")
	}
	if err := s.Emit("x", make(chan int)); err == nil {
		t.Fatal("an unencodable value was emitted")
	}
	if err := srv.Of("/").Emit("connect"); err == nil {
		t.Fatal("a reserved event name was broadcast")
	}
	s.Emit("ok")
	c.expect(`2["ok"]`) // nothing was sent before
}

func TestMalformedPacketReported(t *testing.T) {
	srv := newTestServer(t, nil)
	errs := make(chan error, 1)
	reasons := make(chan DisconnectReason, 1)
	ready := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(_ *Socket, err error) { errs <- err })
		s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
		close(ready)
	})
	c := dial(t, srv)
	c.connect("/")
	// The connection handler runs on the dispatcher after the CONNECT reply; a
	// socket closed before it ran never reaches it (nor its OnError handlers).
	<-ready
	c.send(`2{}`)
	c.expectClosed()
	if err := <-errs; !errors.Is(err, parser.ErrInvalidPayload) && !errors.Is(err, parser.ErrSyntax) {
		t.Fatalf("error %v", err)
	}
	if r := <-reasons; r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

func TestServerOperatorsUseMainNamespace(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	srv.Of("/other")
	c := dial(t, srv)
	c.connect("/")
	s := <-sockets
	c.send("0/other,")
	c.expectPrefix(`0/other,{"sid":"`)
	if err := srv.SocketsJoin(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	srv.To("r").Emit("a")
	srv.Emit("b")
	c.expect(`2["a"]`)
	c.expect(`2["b"]`)
	rs, err := srv.FetchSockets(context.Background())
	if err != nil || len(rs) != 1 || rs[0].ID != s.ID() {
		t.Fatalf("FetchSockets %v %v", rs, err)
	}
}
