package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/parser"
	"github.com/corvid-io/corvid/socketio"
)

// The Go Socket.IO client (socketio.Manager, socketio.ClientSocket) against real
// servers: the npm socket.io 4.8 server (conformance/node/sioclient_server.js),
// with the JSON and the msgpack parser, over polling only, websocket only and
// polling upgraded to websocket.

// goclientPeer is a running server the client tests talk to.
type goclientPeer interface {
	URL() string
	// WaitLine waits for a line of the server's log starting with prefix.
	WaitLine(t *testing.T, prefix string) string
	// Count returns the number of log lines equal to line.
	Count(line string) int
	// Lines returns the log lines so far (of every run of the server).
	Lines() []string
	// Restart stops the server and starts it again on the same port.
	Restart(t *testing.T)
	// Stop stops the server.
	Stop()
	// Start starts a stopped server again on the same port.
	Start(t *testing.T)
}

type goclientServer struct {
	name   string
	parser parser.Parser
	start  func(t *testing.T) goclientPeer
}

func goclientServers() []goclientServer {
	return []goclientServer{
		{name: "node-json", parser: nil, start: func(t *testing.T) goclientPeer { return startNodeSIOPeer(t, "json") }},
		{name: "node-msgpack", parser: parser.Msgpack(), start: func(t *testing.T) goclientPeer { return startNodeSIOPeer(t, "msgpack") }},
		{name: "go-json", parser: nil, start: func(t *testing.T) goclientPeer { return startGoSIOPeer(t, nil) }},
		{name: "go-msgpack", parser: parser.Msgpack(), start: func(t *testing.T) goclientPeer { return startGoSIOPeer(t, parser.Msgpack()) }},
	}
}

var goclientTransports = []struct {
	name       string
	transports []string
	noUpgrade  bool
	want       string // transport once connected and settled
}{
	{"polling", []string{"polling"}, true, "polling"},
	{"websocket", []string{"websocket"}, false, "websocket"},
	{"upgrade", nil, false, "websocket"},
}

// nodeSIOPeer is sioclient_server.js.
type nodeSIOPeer struct {
	port   int
	parser string
	extra  []string
	mu     sync.Mutex
	proc   *testutil.NodeProcess
	old    []string // lines of the processes stopped before
}

func startNodeSIOPeer(t *testing.T, parserName string, extra ...string) *nodeSIOPeer {
	p := &nodeSIOPeer{port: testutil.FreePort(t), parser: parserName, extra: extra}
	p.Start(t)
	return p
}

func (p *nodeSIOPeer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

func (p *nodeSIOPeer) Start(t *testing.T) {
	proc := testutil.StartNode(t, "conformance/node/sioclient_server.js", append([]string{strconv.Itoa(p.port), p.parser}, p.extra...)...)
	proc.WaitLine(t, "listening", 20*time.Second)
	p.mu.Lock()
	p.proc = proc
	p.mu.Unlock()
}

func (p *nodeSIOPeer) Stop() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc != nil {
		proc.Kill()
		p.mu.Lock()
		p.old = append(p.old, proc.Lines()...)
		p.mu.Unlock()
	}
}

func (p *nodeSIOPeer) Restart(t *testing.T) {
	p.Stop()
	p.Start(t)
}

func (p *nodeSIOPeer) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]string(nil), p.old...)
	if p.proc != nil {
		out = append(out, p.proc.Lines()...)
	}
	return out
}

func (p *nodeSIOPeer) WaitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range p.Lines() {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line %q from the server; got:\n%s", prefix, strings.Join(p.Lines(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (p *nodeSIOPeer) Count(line string) int { return goclientCountLines(p.Lines(), line) }

func goclientCountLines(lines []string, line string) int {
	n := 0
	for _, l := range lines {
		if l == line {
			n++
		}
	}
	return n
}

// goclientOptions are client options for a server and a transport, with short
// reconnection delays.
func goclientOptions(srv goclientServer, transports []string, noUpgrade bool) *socketio.ClientOptions {
	o := &socketio.ClientOptions{}
	o.Parser = srv.parser
	o.Transports = transports
	o.DisableUpgrade = noUpgrade
	o.ReconnectionDelay = 50 * time.Millisecond
	o.ReconnectionDelayMax = 200 * time.Millisecond
	o.Timeout = 5 * time.Second
	return o
}

func goclientCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recv collects the arguments of received events.
type goclientRecv struct {
	ch chan socketio.Args
}

func goclientNewRecv(s *socketio.ClientSocket, event string) *goclientRecv {
	r := &goclientRecv{ch: make(chan socketio.Args, 64)}
	s.On(event, func(args socketio.Args, ack socketio.AckFunc) { r.ch <- args })
	return r
}

func (r *goclientRecv) next(t *testing.T) socketio.Args {
	t.Helper()
	select {
	case a := <-r.ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

func goclientDecodeAll(t *testing.T, args socketio.Args) []any {
	t.Helper()
	out := make([]any, args.Len())
	for i := range out {
		if err := args.Decode(i, &out[i]); err != nil {
			t.Fatalf("decode argument %d: %v", i, err)
		}
	}
	return out
}

// msgpack decodes integers as int64 or similar; JSON as float64. Compare numbers
// by value.
func goclientNorm(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = goclientNorm(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = goclientNorm(e)
		}
		return s
	case int:
		return float64(x)
	case int8:
		return float64(x)
	case int16:
		return float64(x)
	case int32:
		return float64(x)
	case int64:
		return float64(x)
	case uint:
		return float64(x)
	case uint8:
		return float64(x)
	case uint16:
		return float64(x)
	case uint32:
		return float64(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	}
	return v
}

func goclientWantArgs(t *testing.T, args socketio.Args, want ...any) {
	t.Helper()
	got := goclientNorm(goclientDecodeAll(t, args))
	if !reflect.DeepEqual(got, goclientNorm(want)) {
		t.Fatalf("args = %#v, want %#v", got, goclientNorm(want))
	}
}

func TestGoClient(t *testing.T) {
	for _, srv := range goclientServers() {
		t.Run(srv.name, func(t *testing.T) {
			peer := srv.start(t)
			for _, tr := range goclientTransports {
				t.Run(tr.name, func(t *testing.T) {
					goclientSuite(t, srv, peer, tr.transports, tr.noUpgrade, tr.want)
				})
			}
		})
	}
}

func goclientSuite(t *testing.T, srv goclientServer, peer goclientPeer, transports []string, noUpgrade bool, wantTransport string) {
	opts := func() *socketio.ClientOptions { return goclientOptions(srv, transports, noUpgrade) }

	t.Run("EmitEventsAcksBinary", func(t *testing.T) {
		ctx := goclientCtx(t)
		s, err := socketio.NewClientSocket(peer.URL(), opts())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		echo := goclientNewRecv(s, "echo")
		bin := goclientNewRecv(s, "binary")
		answer := goclientNewRecv(s, "answer")
		var anyMu sync.Mutex
		var anyIn, anyOut []string
		s.OnAny(func(event string, args socketio.Args) {
			anyMu.Lock()
			anyIn = append(anyIn, event)
			anyMu.Unlock()
		})
		s.OnAnyOutgoing(func(event string, args []any) {
			anyMu.Lock()
			anyOut = append(anyOut, event)
			anyMu.Unlock()
		})
		s.On("question", func(args socketio.Args, ack socketio.AckFunc) {
			if ack == nil {
				t.Error("question without an ack")
				return
			}
			var q string
			args.Decode(0, &q)
			ack("re: "+q, []byte{9, 8}, map[string]any{"deep": []any{[]byte{7}}})
		})
		connected := make(chan struct{}, 1)
		s.OnConnect(func() { connected <- struct{}{} })
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		<-connected
		if s.ID() == "" || !s.Connected() || !s.Active() {
			t.Fatalf("id %q connected %v active %v", s.ID(), s.Connected(), s.Active())
		}

		// echo: text and binary at any depth.
		if err := s.Emit("echo", "hello", 42, true, nil, map[string]any{"a": []any{1, "b"}}); err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, echo.next(t), "hello", 42, true, nil, map[string]any{"a": []any{1, "b"}})
		if err := s.Emit("echo", []byte{1, 2, 3}, map[string]any{"x": []any{[]byte{4}, "y"}}); err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, echo.next(t), []byte{1, 2, 3}, map[string]any{"x": []any{[]byte{4}, "y"}})

		// ack round trip, text and binary.
		res, err := s.EmitWithAck(ctx, "ack", "a", 1, []byte{5})
		if err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, res, "a", 1, []byte{5})
		res, err = s.EmitWithAck(ctx, "ack")
		if err != nil {
			t.Fatal(err)
		}
		if res.Len() != 0 {
			t.Fatalf("empty ack has %d args", res.Len())
		}

		// callback-style ack.
		got := make(chan socketio.Args, 1)
		if err := s.EmitAck("ack", func(a socketio.Args, err error) {
			if err != nil {
				t.Error(err)
			}
			got <- a
		}, "cb"); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-got:
			goclientWantArgs(t, a, "cb")
		case <-ctx.Done():
			t.Fatal("no ack")
		}

		// binary from the server, in an event and in an ack.
		res, err = s.EmitWithAck(ctx, "binary")
		if err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, res, []byte{6}, map[string]any{"deep": map[string]any{"deeper": []byte{7, 8}}})
		goclientWantArgs(t, bin.next(t), []byte{1, 2, 3}, map[string]any{"nested": []any{map[string]any{"b": []byte{4, 5}}}, "s": "x"})

		// the server emits with an ack; the client's binary answer comes back.
		if err := s.Emit("ask", "why"); err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, answer.next(t), "re: why", []byte{9, 8}, map[string]any{"deep": []any{[]byte{7}}})

		// catch-all handlers saw both directions.
		anyMu.Lock()
		in, out := strings.Join(anyIn, ","), strings.Join(anyOut, ",")
		anyMu.Unlock()
		if !strings.Contains(in, "echo,echo") || !strings.Contains(in, "question") || !strings.Contains(in, "binary") {
			t.Errorf("OnAny saw %s", in)
		}
		if !strings.Contains(out, "echo,echo,ack,ack,ack,binary,ask") {
			t.Errorf("OnAnyOutgoing saw %s", out)
		}

		// Send is an emit of "message"; OffAny removes the catch-all handlers.
		msg := goclientNewRecv(s, "message")
		s.OffAny()
		s.OffAnyOutgoing()
		if err := s.Send("m", 1); err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, msg.next(t), "m", 1)
		anyMu.Lock()
		if strings.Join(anyIn, ",") != in || strings.Join(anyOut, ",") != out {
			t.Errorf("catch-all handlers still called after OffAny: %v / %v", anyIn, anyOut)
		}
		anyMu.Unlock()

		// the transport.
		who, err := s.EmitWithAck(ctx, "whoami")
		if err != nil {
			t.Fatal(err)
		}
		var w map[string]any
		who.Decode(0, &w)
		if w["id"] != s.ID() || w["eio"] != s.Manager().EngineID() {
			t.Fatalf("whoami = %v, socket id %s engine id %s", w, s.ID(), s.Manager().EngineID())
		}
		if wantTransport == "polling" && s.Manager().Transport() != "polling" {
			t.Fatalf("transport %s", s.Manager().Transport())
		}
		if wantTransport == "websocket" {
			// an upgrade may still be under way; poll for it
			deadline := time.Now().Add(10 * time.Second)
			for s.Manager().Transport() != "websocket" && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if s.Manager().Transport() != "websocket" {
				t.Fatalf("transport %s", s.Manager().Transport())
			}
		}
	})

	t.Run("AuthMiddlewareRejects", func(t *testing.T) {
		ctx := goclientCtx(t)
		o := opts()
		o.Auth = map[string]any{"token": "bad"}
		s, err := socketio.NewClientSocket(peer.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		cerrs := make(chan *socketio.ConnectError, 1)
		s.OnConnectError(func(e *socketio.ConnectError) { cerrs <- e })
		err = s.Connect(ctx)
		var ce *socketio.ConnectError
		if !errors.As(err, &ce) {
			t.Fatalf("Connect = %v, want a *ConnectError", err)
		}
		if ce.Message != "not authorized" {
			t.Fatalf("message %q", ce.Message)
		}
		data, _ := ce.Data.(map[string]any)
		if data["reason"] != "bad token" || goclientNorm(data["code"]) != float64(42) {
			t.Fatalf("data %#v", ce.Data)
		}
		e := <-cerrs
		if e.Message != "not authorized" {
			t.Fatalf("handler got %q", e.Message)
		}
		if s.Active() {
			t.Fatal("a refused socket stays active")
		}

		// Connect (package level) returns the same and releases everything.
		_, err = socketio.Connect(ctx, peer.URL(), o)
		if !errors.As(err, &ce) || ce.Message != "not authorized" {
			t.Fatalf("Connect = %v", err)
		}
	})

	t.Run("AuthFuncAndQuery", func(t *testing.T) {
		ctx := goclientCtx(t)
		o := opts()
		var mu sync.Mutex
		calls := 0
		o.AuthFunc = func() any {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return map[string]any{"token": "t" + strconv.Itoa(calls)}
		}
		o.Query = url.Values{"x": {"1"}}
		o.ExtraHeaders = http.Header{"X-Test": {"yes"}}
		s, err := socketio.Connect(ctx, peer.URL()+"/custom?y=2", o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		hs, err := s.EmitWithAck(ctx, "handshake")
		if err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, hs, map[string]any{"x": "1", "y": "2", "header": "yes"})
		res, err := s.EmitWithAck(ctx, "auth")
		if err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, res, map[string]any{"token": "t1"})
		// the server closes the Engine.IO connection: the client reconnects
		// and calls AuthFunc again.
		reconnected := make(chan int, 1)
		s.Manager().OnReconnect(func(n int) { reconnected <- n })
		disc := make(chan socketio.DisconnectReason, 1)
		s.OnDisconnect(func(r socketio.DisconnectReason) { disc <- r })
		if err := s.Emit("close-conn"); err != nil {
			t.Fatal(err)
		}
		if r := <-disc; r != socketio.ReasonTransportClose {
			t.Fatalf("reason %q", r)
		}
		select {
		case n := <-reconnected:
			if n < 1 {
				t.Fatalf("reconnect after %d attempts", n)
			}
		case <-ctx.Done():
			t.Fatal("no reconnection")
		}
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		res, err = s.EmitWithAck(ctx, "auth")
		if err != nil {
			t.Fatal(err)
		}
		goclientWantArgs(t, res, map[string]any{"token": "t2"})
	})

	t.Run("AckTimeouts", func(t *testing.T) {
		ctx := goclientCtx(t)
		o := opts()
		o.AckTimeout = 100 * time.Millisecond
		s, err := socketio.Connect(ctx, peer.URL(), o)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		if _, err := s.EmitWithAck(ctx, "no-ack"); !errors.Is(err, socketio.ErrAckTimeout) {
			t.Fatalf("AckTimeout: %v", err)
		}
		if _, err := s.Timeout(50*time.Millisecond).EmitWithAck(ctx, "no-ack"); !errors.Is(err, socketio.ErrAckTimeout) {
			t.Fatalf("Timeout: %v", err)
		}
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := s.Timeout(time.Hour).EmitWithAck(cctx, "no-ack"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ctx: %v", err)
		}
		got := make(chan error, 1)
		s.Timeout(50*time.Millisecond).EmitAck("no-ack", func(a socketio.Args, err error) { got <- err }, 1)
		if err := <-got; !errors.Is(err, socketio.ErrAckTimeout) {
			t.Fatalf("EmitAck: %v", err)
		}
		// the socket still works (a generous timeout: an upgrade may be under way)
		if _, err := s.Timeout(10*time.Second).EmitWithAck(ctx, "ack", 1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Multiplexing", func(t *testing.T) {
		ctx := goclientCtx(t)
		var cache socketio.ClientCache
		defer cache.Close()
		root, err := cache.Connect(ctx, peer.URL(), opts())
		if err != nil {
			t.Fatal(err)
		}
		custom, err := cache.Connect(ctx, peer.URL()+"/custom", opts())
		if err != nil {
			t.Fatal(err)
		}
		if root.Manager() != custom.Manager() {
			t.Fatal("two managers for one server")
		}
		w1, err := root.EmitWithAck(ctx, "whoami")
		if err != nil {
			t.Fatal(err)
		}
		w2, err := custom.EmitWithAck(ctx, "whoami")
		if err != nil {
			t.Fatal(err)
		}
		var a, b map[string]any
		w1.Decode(0, &a)
		w2.Decode(0, &b)
		if a["nsp"] != "/" || b["nsp"] != "/custom" || a["eio"] != b["eio"] || a["eio"] == "" {
			t.Fatalf("whoami: %v / %v", a, b)
		}
		// one Engine.IO session on the server for both namespaces (the
		// sessions of the tests before may take a moment to go away, so the
		// count is asked until it settles)
		engineCount := func(s *socketio.ClientSocket, want int) {
			t.Helper()
			var n int
			for deadline := time.Now().Add(10 * time.Second); ; {
				res, err := s.EmitWithAck(ctx, "count")
				if err != nil {
					t.Fatal(err)
				}
				if err := res.Decode(0, &n); err != nil {
					t.Fatal(err)
				}
				if n == want || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n != want {
				t.Fatalf("%d Engine.IO connections on the server, want %d", n, want)
			}
		}
		engineCount(custom, 1)
		// ForceNew makes a second connection.
		fo := opts()
		fo.ForceNew = true
		other, err := cache.Connect(ctx, peer.URL(), fo)
		if err != nil {
			t.Fatal(err)
		}
		if other.Manager() == root.Manager() {
			t.Fatal("ForceNew reused the manager")
		}
		engineCount(other, 2)
		// leaving one namespace keeps the connection of the other.
		if err := custom.Disconnect(); err != nil {
			t.Fatal(err)
		}
		if _, err := root.EmitWithAck(ctx, "ack", 1); err != nil {
			t.Fatal(err)
		}
		if !root.Manager().Connected() {
			t.Fatal("manager closed with a socket left")
		}
	})

	t.Run("DisconnectReasons", func(t *testing.T) {
		ctx := goclientCtx(t)
		s, err := socketio.Connect(ctx, peer.URL(), opts())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Manager().Close()
		attempts := make(chan int, 8)
		s.Manager().OnReconnectAttempt(func(n int) { attempts <- n })
		disc := make(chan socketio.DisconnectReason, 2)
		s.OnDisconnect(func(r socketio.DisconnectReason) { disc <- r })

		// the server disconnects the socket: no reconnection; an ack still
		// awaited ends with ErrClientDisconnected.
		id := s.ID()
		pending := make(chan error, 1)
		if err := s.EmitAck("no-ack", func(a socketio.Args, err error) { pending <- err }); err != nil {
			t.Fatal(err)
		}
		if err := s.Emit("disconnect-me"); err != nil {
			t.Fatal(err)
		}
		if r := <-disc; r != socketio.ReasonIOServerDisconnect {
			t.Fatalf("reason %q", r)
		}
		if err := <-pending; !errors.Is(err, socketio.ErrClientDisconnected) {
			t.Fatalf("pending ack: %v", err)
		}
		peer.WaitLine(t, "disconnect / server namespace disconnect")
		if s.Active() || s.Connected() || s.Manager().Connected() {
			t.Fatalf("after io server disconnect: active %v connected %v manager %v", s.Active(), s.Connected(), s.Manager().Connected())
		}
		// emits are buffered meanwhile and sent by a manual reconnection.
		if err := s.Emit("log", "buffered after server disconnect", id); err != nil {
			t.Fatal(err)
		}
		if err := s.Volatile().Emit("log", "volatile while disconnected"); err != nil {
			t.Fatal(err)
		}
		if err := s.Connect(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EmitWithAck(ctx, "ack"); err != nil {
			t.Fatal(err)
		}
		line := "got / " + goclientJSONStrings("buffered after server disconnect", id)
		peer.WaitLine(t, line)
		if peer.Count(line) != 1 || peer.Count(`got / ["volatile while disconnected"]`) != 0 {
			t.Fatalf("buffered emit delivered %d times, volatile %d", peer.Count(line), peer.Count(`got / ["volatile while disconnected"]`))
		}
		select {
		case n := <-attempts:
			t.Fatalf("reconnect attempt %d after io server disconnect", n)
		default:
		}

		// the client disconnects.
		id = s.ID()
		if err := s.Disconnect(); err != nil {
			t.Fatal(err)
		}
		if r := <-disc; r != socketio.ReasonIOClientDisconnect {
			t.Fatalf("reason %q", r)
		}
		peer.WaitLine(t, "disconnect / client namespace disconnect")
		if s.Active() || s.Manager().Connected() {
			t.Fatal("still active after Disconnect")
		}
		_ = id
	})
}

func goclientJSONStrings(args ...any) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", a)
	}
	b.WriteByte(']')
	return b.String()
}

// TestGoClientServerRestart kills the server mid-session and starts a new one on
// the same port: the client reconnects and the emits buffered meanwhile arrive
// once.
func TestGoClientServerRestart(t *testing.T) {
	for _, srv := range goclientServers() {
		for _, tr := range goclientTransports {
			t.Run(srv.name+"/"+tr.name, func(t *testing.T) {
				peer := srv.start(t)
				ctx := goclientCtx(t)
				o := goclientOptions(srv, tr.transports, tr.noUpgrade)
				s, err := socketio.NewClientSocket(peer.URL(), o)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Manager().Close()
				var mu sync.Mutex
				var events []string
				note := func(e string) {
					mu.Lock()
					events = append(events, e)
					mu.Unlock()
				}
				m := s.Manager()
				m.OnReconnectAttempt(func(n int) { note("attempt " + strconv.Itoa(n)) })
				m.OnReconnectError(func(error) { note("reconnect_error") })
				reconnected := make(chan int, 1)
				m.OnReconnect(func(n int) { note("reconnect"); reconnected <- n })
				disc := make(chan socketio.DisconnectReason, 1)
				s.OnDisconnect(func(r socketio.DisconnectReason) { disc <- r })
				if err := s.Connect(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s.EmitWithAck(ctx, "ack"); err != nil {
					t.Fatal(err)
				}
				peer.Stop()
				r := <-disc
				if r != socketio.ReasonTransportClose && r != socketio.ReasonTransportError {
					t.Fatalf("reason %q", r)
				}
				// emitted while the server is down: buffered.
				for i := 0; i < 3; i++ {
					if err := s.Emit("log", "offline", strconv.Itoa(i)); err != nil {
						t.Fatal(err)
					}
				}
				ackc := make(chan error, 1)
				s.EmitAck("log", func(a socketio.Args, err error) { ackc <- err }, "offline-ack")
				peer.Start(t)
				select {
				case n := <-reconnected:
					if n < 1 {
						t.Fatalf("reconnect after %d attempts", n)
					}
				case <-ctx.Done():
					t.Fatal("no reconnection")
				}
				if err := <-ackc; err != nil {
					t.Fatalf("buffered ack: %v", err)
				}
				peer.WaitLine(t, `got / ["offline-ack"]`) // stdout may lag the ack
				for i := 0; i < 3; i++ {
					line := `got / ["offline","` + strconv.Itoa(i) + `"]`
					if n := peer.Count(line); n != 1 {
						t.Fatalf("%s delivered %d times", line, n)
					}
				}
				lines := strings.Join(func() []string {
					var out []string
					for _, l := range peer.Lines() {
						if strings.HasPrefix(l, "got / ") {
							out = append(out, l)
						}
					}
					return out
				}(), "\n")
				if !strings.Contains(lines, `got / ["offline","0"]`+"\n"+`got / ["offline","1"]`+"\n"+`got / ["offline","2"]`+"\n"+`got / ["offline-ack"]`) {
					t.Fatalf("out of order:\n%s", lines)
				}
				mu.Lock()
				ev := strings.Join(events, ",")
				mu.Unlock()
				if !strings.HasPrefix(ev, "attempt 1,") || !strings.HasSuffix(ev, "reconnect") {
					t.Fatalf("manager events %s", ev)
				}
			})
		}
	}
}

// TestGoClientRetries: with Retries and AckTimeout, a packet whose first
// delivery is not acknowledged is sent again, and the queue keeps the order.
func TestGoClientRetries(t *testing.T) {
	for _, srv := range goclientServers() {
		t.Run(srv.name, func(t *testing.T) {
			peer := srv.start(t)
			for _, tr := range goclientTransports {
				t.Run(tr.name, func(t *testing.T) {
					ctx := goclientCtx(t)
					o := goclientOptions(srv, tr.transports, tr.noUpgrade)
					// Under load an ack may come after the timeout, and then the
					// packet is delivered once more: the checks allow any number of
					// deliveries from 2 on, but each key's deliveries must be
					// consecutive and the keys in order.
					o.Retries = 10
					o.AckTimeout = 200 * time.Millisecond
					s, err := socketio.Connect(ctx, peer.URL(), o)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Manager().Close()
					ackedAfter := func(res socketio.Args, key string) int {
						t.Helper()
						var ok string
						var n int
						if err := res.Decode(0, &ok); err != nil || ok != "ok "+key {
							t.Fatalf("ack %q (%v)", ok, err)
						}
						if err := res.Decode(1, &n); err != nil || n < 2 {
							t.Fatalf("acked at delivery %d (%v)", n, err)
						}
						peer.WaitLine(t, "retry "+key+" "+strconv.Itoa(n)) // stdout may lag the ack
						return n
					}
					key := tr.name + "-a"
					res, err := s.EmitWithAck(ctx, "retry", key)
					if err != nil {
						t.Fatal(err)
					}
					n := ackedAfter(res, key)
					for i := 1; i <= n; i++ {
						if c := peer.Count("retry " + key + " " + strconv.Itoa(i)); c != 1 {
							t.Fatalf("delivery %d seen %d times", i, c)
						}
					}
					// several in a row: each is delivered in order, the next one
					// only after the previous is acknowledged.
					var keys []string
					for i := 0; i < 3; i++ {
						keys = append(keys, tr.name+"-q"+strconv.Itoa(i))
						if err := s.Emit("retry", keys[i]); err != nil {
							t.Fatal(err)
						}
					}
					last := tr.name + "-last"
					keys = append(keys, last)
					res, err = s.EmitWithAck(ctx, "retry", last)
					if err != nil {
						t.Fatal(err)
					}
					ackedAfter(res, last)
					var seq []string
					for _, l := range peer.Lines() {
						if strings.HasPrefix(l, "retry "+tr.name+"-q") || strings.HasPrefix(l, "retry "+last+" ") {
							seq = append(seq, l)
						}
					}
					ki, want := 0, 1
					for _, l := range seq {
						f := strings.Fields(l)
						got, _ := strconv.Atoi(f[2])
						if f[1] != keys[ki] || got != want {
							if ki+1 < len(keys) && f[1] == keys[ki+1] && got == 1 && want > 2 {
								ki, want = ki+1, 1
							} else {
								t.Fatalf("deliveries out of order at %q:\n%s", l, strings.Join(seq, "\n"))
							}
						}
						want++
					}
					if ki != len(keys)-1 {
						t.Fatalf("deliveries:\n%s", strings.Join(seq, "\n"))
					}
					// a packet never acknowledged fails after 1+Retries tries.
					o2 := *o
					o2.Retries = 1
					o2.AckTimeout = 50 * time.Millisecond
					s2, err := socketio.Connect(ctx, peer.URL(), &o2)
					if err != nil {
						t.Fatal(err)
					}
					defer s2.Manager().Close()
					if _, err := s2.EmitWithAck(ctx, "no-ack"); !errors.Is(err, socketio.ErrAckTimeout) {
						t.Fatalf("never acked: %v", err)
					}
				})
			}
		})
	}
}

// TestGoClientPingTimeoutParseError: the npm server stops pinging (the client
// closes with "ping timeout") or sends a message that is no packet ("parse
// error"); the client reconnects after both.
func TestGoClientPingTimeoutParseError(t *testing.T) {
	peer := startNodeSIOPeer(t, "json", "1000", "500")
	for _, tr := range goclientTransports {
		t.Run(tr.name, func(t *testing.T) {
			ctx := goclientCtx(t)
			o := goclientOptions(goclientServer{}, tr.transports, tr.noUpgrade)
			s, err := socketio.NewClientSocket(peer.URL(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Manager().Close()
			disc := make(chan socketio.DisconnectReason, 1)
			s.OnDisconnect(func(r socketio.DisconnectReason) { disc <- r })
			connects := make(chan struct{}, 4)
			s.OnConnect(func() { connects <- struct{}{} })
			if err := s.Connect(ctx); err != nil {
				t.Fatal(err)
			}
			<-connects
			for _, c := range []struct {
				event string
				want  socketio.DisconnectReason
			}{{"stop-pings", socketio.ReasonPingTimeout}, {"garbage", socketio.ReasonParseError}} {
				if err := s.Emit(c.event); err != nil {
					t.Fatal(err)
				}
				select {
				case r := <-disc:
					if r != c.want {
						t.Fatalf("%s: reason %q, want %q", c.event, r, c.want)
					}
				case <-ctx.Done():
					t.Fatalf("%s: no disconnection", c.event)
				}
				select {
				case <-connects:
				case <-ctx.Done():
					t.Fatalf("%s: no reconnection", c.event)
				}
				if _, err := s.EmitWithAck(ctx, "ack"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestGoClientConcurrentEmits: many goroutines emit with and without acks on
// one socket at once (run with -race).
func TestGoClientConcurrentEmits(t *testing.T) {
	for _, srv := range goclientServers() {
		t.Run(srv.name, func(t *testing.T) {
			peer := srv.start(t)
			ctx := goclientCtx(t)
			s, err := socketio.Connect(ctx, peer.URL(), goclientOptions(srv, []string{"websocket"}, false))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Manager().Close()
			echo := goclientNewRecv(s, "echo")
			var wg sync.WaitGroup
			errs := make(chan error, 16)
			const workers, each = 8, 20
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						res, err := s.EmitWithAck(ctx, "ack", w, i, []byte{byte(i)})
						if err != nil {
							errs <- err
							return
						}
						var gw, gi int
						var b []byte
						if res.Decode(0, &gw) != nil || res.Decode(1, &gi) != nil || res.Decode(2, &b) != nil || gw != w || gi != i || !bytes.Equal(b, []byte{byte(i)}) {
							errs <- fmt.Errorf("ack %d/%d: %v", w, i, goclientDecodeAll(t, res))
							return
						}
						if err := s.Emit("echo", w); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for i := 0; i < workers*each; i++ {
				echo.next(t)
			}
		})
	}
}

// TestGoClientReconnectFailed: against a port with nothing behind it, the
// Manager gives up after ReconnectionAttempts.
func TestGoClientReconnectFailed(t *testing.T) {
	port := testutil.FreePort(t)
	o := &socketio.ClientOptions{}
	o.ReconnectionAttempts = 2
	o.ReconnectionDelay = 10 * time.Millisecond
	o.ReconnectionDelayMax = 20 * time.Millisecond
	o.Timeout = 2 * time.Second
	s, err := socketio.NewClientSocket("http://127.0.0.1:"+strconv.Itoa(port), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Manager().Close()
	var mu sync.Mutex
	var events []string
	note := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	failed := make(chan struct{})
	m := s.Manager()
	m.OnReconnectAttempt(func(n int) { note("attempt " + strconv.Itoa(n)) })
	m.OnReconnectError(func(error) { note("reconnect_error") })
	m.OnReconnectFailed(func() { note("failed"); close(failed) })
	cerr := 0
	s.OnConnectError(func(*socketio.ConnectError) { mu.Lock(); cerr++; mu.Unlock() })
	ctx := goclientCtx(t)
	err = s.Connect(ctx)
	if err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Connect = %v", err)
	}
	<-failed
	mu.Lock()
	defer mu.Unlock()
	// The reference's order: the initial failure, then for each attempt
	// reconnect_attempt and reconnect_error; reconnect_failed comes before the
	// last reconnect_error (it is decided when the next attempt would start).
	if got := strings.Join(events, ","); got != "attempt 1,reconnect_error,attempt 2,failed" && got != "attempt 1,reconnect_error,attempt 2,failed,reconnect_error" {
		t.Fatalf("events %s", got)
	}
	if cerr != 3 {
		t.Fatalf("%d connect errors, want 3 (initial try and 2 attempts)", cerr)
	}
}

// goSIOPeer is our own server (socketio.Server) with the handlers of
// sioclient_server.js, logging the same lines.
type goSIOPeer struct {
	port   int
	parser parser.Parser

	mu    sync.Mutex
	log   []string
	srv   *socketio.Server
	http  *http.Server
	done  chan struct{}
	retry map[string]int
}

func startGoSIOPeer(t *testing.T, p parser.Parser) *goSIOPeer {
	g := &goSIOPeer{port: testutil.FreePort(t), parser: p, retry: make(map[string]int)}
	g.Start(t)
	t.Cleanup(g.Stop)
	return g
}

func (g *goSIOPeer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(g.port) }

func (g *goSIOPeer) out(line string) {
	g.mu.Lock()
	g.log = append(g.log, line)
	g.mu.Unlock()
}

func (g *goSIOPeer) Lines() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}

func (g *goSIOPeer) Count(line string) int { return goclientCountLines(g.Lines(), line) }

func (g *goSIOPeer) WaitLine(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range g.Lines() {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line %q from the server; got:\n%s", prefix, strings.Join(g.Lines(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *goSIOPeer) Restart(t *testing.T) {
	g.Stop()
	g.Start(t)
}

func (g *goSIOPeer) Start(t *testing.T) {
	srv := socketio.NewServer(&socketio.ServerOptions{
		Parser: g.parser,
		Engine: &engineio.ServerOptions{PingInterval: 2 * time.Second, PingTimeout: 2 * time.Second, MaxHTTPBufferSize: 1e7},
	})
	srv.Use(func(s *socketio.Socket) error {
		var auth map[string]any
		if v, ok := s.Handshake().Auth.(parser.Value); ok {
			v.Decode(&auth)
		}
		if auth["token"] == "bad" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"reason": "bad token", "code": 42}}
		}
		return nil
	})
	srv.OnConnection(g.common)
	srv.Of("/custom").OnConnection(g.common)
	var l net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(g.port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(l)
	}()
	g.mu.Lock()
	g.srv, g.http, g.done = srv, hs, done
	g.mu.Unlock()
}

// Stop drops every connection, like a killed process.
func (g *goSIOPeer) Stop() {
	g.mu.Lock()
	srv, hs, done := g.srv, g.http, g.done
	g.srv, g.http, g.done = nil, nil, nil
	g.mu.Unlock()
	if srv == nil {
		return
	}
	hs.Close()
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}

func (g *goSIOPeer) common(s *socketio.Socket) {
	nsp := s.Namespace().Name()
	srv := s.Namespace().Server()
	g.out("connection " + nsp + " " + goclientJSON(s.Handshake().Auth))
	s.On("echo", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.Emit("echo", args...)
	})
	s.On("ack", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		if ack != nil {
			ack(args...)
		}
	})
	s.On("message", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.Emit("message", args...)
	})
	s.On("no-ack", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {})
	s.On("binary", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.Emit("binary", []byte{1, 2, 3}, map[string]any{"nested": []any{map[string]any{"b": []byte{4, 5}}}, "s": "x"})
		if ack != nil {
			ack([]byte{6}, map[string]any{"deep": map[string]any{"deeper": []byte{7, 8}}})
		}
	})
	s.On("whoami", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		ack(map[string]any{"nsp": nsp, "id": s.ID(), "eio": s.EngineID(), "transport": s.Transport()})
	})
	s.On("handshake", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		h := s.Handshake()
		ack(map[string]any{"x": h.Query.Get("x"), "y": h.Query.Get("y"), "header": h.Headers.Get("X-Test")})
	})
	s.On("count", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		ack(srv.Engine().Len())
	})
	s.On("auth", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		ack(s.Handshake().Auth)
	})
	s.On("disconnect-me", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.Disconnect(false)
	})
	s.On("close-conn", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.CloseConn()
	})
	s.On("ask", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		s.EmitWithCallback("question", 5*time.Second, func(answer socketio.Args, err error) {
			if err != nil {
				s.Emit("answer", "error: "+err.Error())
				return
			}
			s.Emit("answer", answer...)
		}, args...)
	})
	s.On("log", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		vals := make([]any, args.Len())
		for i := range vals {
			args.Decode(i, &vals[i])
		}
		g.out("got " + nsp + " " + goclientJSON(vals))
		if ack != nil {
			ack("logged")
		}
	})
	s.On("retry", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		var key string
		args.Decode(0, &key)
		g.mu.Lock()
		g.retry[key]++
		n := g.retry[key]
		g.mu.Unlock()
		g.out("retry " + key + " " + strconv.Itoa(n))
		if n > 1 && ack != nil {
			ack("ok "+key, n)
		}
	})
	s.OnDisconnect(func(s *socketio.Socket, reason socketio.DisconnectReason) {
		g.out("disconnect " + nsp + " " + string(reason))
	})
}

// goclientJSON is the JSON text of v (a parser.Value is decoded first).
func goclientJSON(v any) string {
	if pv, ok := v.(parser.Value); ok {
		var x any
		pv.Decode(&x)
		v = x
	}
	if v == nil {
		return "{}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
