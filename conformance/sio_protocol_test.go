package conformance

// The 32 cases of the official Socket.IO v5 suite (socket.io-protocol
// test-suite/test-suite.js, cited S1-S32), written from the protocol notes and
// run against our Socket.IO server (the suite's settings and handlers) on a
// loopback port with net/http and coder/websocket.

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// sioSuiteServer is the server the official suite expects: "/" and "/custom",
// "auth" emitted with the CONNECT payload, "message" -> "message-back",
// "message-with-ack" acknowledged with its arguments.
func sioSuiteServer(opts *socketio.ServerOptions) *socketio.Server {
	if opts == nil {
		opts = &socketio.ServerOptions{}
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = time.Second
	}
	if opts.Engine == nil {
		opts.Engine = &engineio.ServerOptions{
			PingInterval:      300 * time.Millisecond,
			PingTimeout:       200 * time.Millisecond,
			MaxHTTPBufferSize: 1000000,
			CORS:              &engineio.CORSOptions{Origins: []string{"*"}},
		}
	}
	srv := socketio.NewServer(opts)
	h := func(s *socketio.Socket) {
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
	srv.OnConnection(h)
	srv.Of("/custom").OnConnection(h)
	return srv
}

// sioDriver speaks raw Engine.IO/Socket.IO to a server under test.
// It reuses the Engine.IO driver's requests and dials on the /socket.io/ path.
type sioDriver struct{ *eioDriver }

func startSIO(t testing.TB, srv *socketio.Server) *sioDriver {
	t.Helper()
	hs := testutil.Serve(t, srv, srv.Shutdown)
	return &sioDriver{&eioDriver{t: t, base: hs.URL + "/socket.io/"}}
}

// sioWS opens a WebSocket-only session and reads its open packet.
func (d *sioDriver) sioWS() *websocket.Conn {
	d.t.Helper()
	c := d.dial("EIO=4&transport=websocket")
	wsRead(d.t, c)
	return c
}

// sioNext returns the next message that is not a ping. Pings are answered
// (the official suite ignores them; answering keeps a slow, loaded test run
// from hitting the 500 ms ping timeout without changing what is checked).
func sioNext(t testing.TB, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	for {
		typ, s := wsRead(t, c)
		if typ == websocket.MessageText && s == "2" {
			_ = c.Write(context.Background(), websocket.MessageText, []byte("3"))
			continue
		}
		return typ, s
	}
}

func sioExpect(t testing.TB, c *websocket.Conn, want string) {
	t.Helper()
	if typ, got := sioNext(t, c); typ != websocket.MessageText || got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func sioExpectBinary(t testing.TB, c *websocket.Conn, want []byte) {
	t.Helper()
	if typ, got := sioNext(t, c); typ != websocket.MessageBinary || got != string(want) {
		t.Fatalf("got %q (type %v), want binary %v", got, typ, want)
	}
}

func sioWriteBinary(t testing.TB, c *websocket.Conn, b []byte) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

var sioConnectReply = regexp.MustCompile(`^40(/custom,)?\{"sid":"[A-Za-z0-9_-]{20}"\}$`)

func sioExpectConnect(t testing.TB, c *websocket.Conn, prefix string) {
	t.Helper()
	_, got := sioNext(t, c)
	if !strings.HasPrefix(got, prefix+`{"sid":"`) || !sioConnectReply.MatchString(got) {
		t.Fatalf("CONNECT reply %q", got)
	}
}

const ph0, ph1 = `{"_placeholder":true,"num":0}`, `{"_placeholder":true,"num":1}`

func TestSIOProtocol(t *testing.T) {
	d := startSIO(t, sioSuiteServer(nil))

	// S1
	t.Run("S1 polling opens a session", func(t *testing.T) {
		status, body := d.do(http.MethodGet, "EIO=4&transport=polling", "")
		open := d.openPacket(body)
		keys := make([]string, 0, len(open))
		for k := range open {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if status != 200 || strings.Join(keys, ",") != "maxPayload,pingInterval,pingTimeout,sid,upgrades" ||
			open["pingInterval"] != 300.0 || open["pingTimeout"] != 200.0 || open["maxPayload"] != 1e6 {
			t.Fatalf("%d %v", status, open)
		}
		if u, _ := open["upgrades"].([]any); len(u) != 1 || u[0] != "websocket" {
			t.Fatalf("upgrades %v", open["upgrades"])
		}
	})
	// S2-S4
	t.Run("S2-S4 bad handshakes", func(t *testing.T) {
		for _, tc := range []struct{ method, query string }{
			{"GET", "transport=polling"}, {"GET", "EIO=abc&transport=polling"},
			{"GET", "EIO=4"}, {"GET", "EIO=4&transport=abc"},
			{"POST", "EIO=4&transport=polling"}, {"PUT", "EIO=4&transport=polling"},
		} {
			if status, _ := d.do(tc.method, tc.query, ""); status != 400 {
				t.Errorf("%s %s: %d", tc.method, tc.query, status)
			}
		}
	})
	// S5
	t.Run("S5 websocket opens a session", func(t *testing.T) {
		c := d.dial("EIO=4&transport=websocket")
		_, msg := wsRead(t, c)
		open := d.openPacket(msg)
		if u, _ := open["upgrades"].([]any); len(open) != 5 || u == nil || len(u) != 0 {
			t.Fatalf("open %v", open)
		}
	})
	// S6, S7 (vacuous in the suite): the WebSocket is refused
	t.Run("S6-S7 bad websocket handshakes", func(t *testing.T) {
		for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, _, err := websocket.Dial(ctx, d.wsURL(q), nil)
			cancel()
			if err == nil {
				c.CloseNow()
				t.Errorf("%s: accepted", q)
			}
		}
	})
	// S8
	t.Run("S8 polling heartbeat", func(t *testing.T) {
		sid := d.handshake()
		for range 3 {
			if status, body := d.do("GET", "EIO=4&transport=polling&sid="+sid, ""); status != 200 || body != "2" {
				t.Fatalf("poll: %d %q", status, body)
			}
			if status, _ := d.do("POST", "EIO=4&transport=polling&sid="+sid, "3"); status != 200 {
				t.Fatalf("pong: %d", status)
			}
		}
	})
	// S9
	t.Run("S9 polling ping timeout", func(t *testing.T) {
		// The suite sleeps pingInterval+pingTimeout; here the held poll is
		// released with the close packet when the timeout fires.
		sid := d.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		if _, body := d.do("GET", q, ""); body != "2" {
			t.Fatalf("ping: %q", body)
		}
		if _, body := d.do("GET", q, ""); body != "1" {
			t.Fatalf("after the ping timeout: %q", body)
		}
		if status, _ := d.do("GET", q, ""); status != 400 {
			t.Fatalf("status %d", status)
		}
	})
	// S10
	t.Run("S10 websocket heartbeat", func(t *testing.T) {
		c := d.sioWS()
		for range 3 {
			if _, m := wsRead(t, c); m != "2" {
				t.Fatalf("got %q", m)
			}
			wsWrite(t, c, "3")
		}
	})
	// S11
	t.Run("S11 websocket ping timeout", func(t *testing.T) {
		c := d.sioWS()
		wsWaitClosed(t, c)
	})
	// S12
	t.Run("S12 polling close", func(t *testing.T) {
		sid := d.handshake()
		got := make(chan string, 1)
		go func() {
			_, body := d.do("GET", "EIO=4&transport=polling&sid="+sid, "")
			got <- body
		}()
		time.Sleep(50 * time.Millisecond) // let the GET be held, as the suite assumes
		if status, _ := d.do("POST", "EIO=4&transport=polling&sid="+sid, "1"); status != 200 {
			t.Fatalf("POST 1: %d", status)
		}
		if body := <-got; body != "6" {
			t.Fatalf("held GET got %q, want 6", body)
		}
		if status, _ := d.do("GET", "EIO=4&transport=polling&sid="+sid, ""); status != 400 {
			t.Fatalf("GET after close: %d", status)
		}
	})
	// S13
	t.Run("S13 websocket close", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "1")
		wsWaitClosed(t, c)
	})
	// S14-S16
	t.Run("S14-S16 upgrade", func(t *testing.T) {
		sid := d.handshake()
		c := d.dial("EIO=4&transport=websocket&sid=" + sid)
		wsWrite(t, c, "2probe")
		if _, m := wsRead(t, c); m != "3probe" {
			t.Fatalf("probe answer %q", m)
		}
		wsWrite(t, c, "5")
		time.Sleep(20 * time.Millisecond)
		// S15: polling with that sid is refused
		if status, _ := d.do("GET", "EIO=4&transport=polling&sid="+sid, ""); status != 400 {
			t.Fatalf("GET after upgrade: %d", status)
		}
		// S16: a second WebSocket with that sid is closed
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c2, _, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket&sid="+sid), nil)
		if err == nil {
			defer c2.CloseNow()
			wsWaitClosed(t, c2)
		}
		wsWrite(t, c, "3") // the first one still works
	})
	// S17
	t.Run("S17 connect to the main namespace", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "40")
		sioExpectConnect(t, c, "40")
		sioExpect(t, c, `42["auth",{}]`)
	})
	// S18
	t.Run("S18 connect with a payload", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, `40{"token":"123"}`)
		sioExpectConnect(t, c, "40")
		sioExpect(t, c, `42["auth",{"token":"123"}]`)
	})
	// S19
	t.Run("S19 connect to a custom namespace", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "40/custom,")
		sioExpectConnect(t, c, "40/custom,")
		sioExpect(t, c, `42/custom,["auth",{}]`)
	})
	// S20
	t.Run("S20 connect to a custom namespace with a payload", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, `40/custom,{"token":"abc"}`)
		sioExpectConnect(t, c, "40/custom,")
		sioExpect(t, c, `42/custom,["auth",{"token":"abc"}]`)
	})
	// S21
	t.Run("S21 unknown namespace", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "40/random")
		sioExpect(t, c, `44/random,{"message":"Invalid namespace"}`)
	})
	// S22
	t.Run("S22 invalid handshake", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "4abc")
		wsWaitClosed(t, c)
	})
	// S23
	t.Run("S23 no handshake", func(t *testing.T) {
		c := d.sioWS()
		go func() { // keep the Engine.IO session alive: only the connect timeout may close it
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, m, err := c.Read(ctx)
				cancel()
				if err != nil {
					return
				}
				if string(m) == "2" {
					_ = c.Write(context.Background(), websocket.MessageText, []byte("3"))
				}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for c.Ping(ctx) == nil {
			time.Sleep(50 * time.Millisecond)
		}
		if ctx.Err() != nil {
			t.Fatal("the connection was not closed")
		}
	})
	// S24
	t.Run("S24 disconnect from the main namespace", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "40")
		sioNext(t, c)
		sioNext(t, c)
		wsWrite(t, c, "41")
		if _, m := wsRead(t, c); m != "2" {
			t.Fatalf("got %q, want the ping", m)
		}
	})
	// S25
	t.Run("S25 connect then disconnect from a custom namespace", func(t *testing.T) {
		c := d.sioWS()
		wsWrite(t, c, "40")
		sioNext(t, c)
		sioNext(t, c)
		if _, m := wsRead(t, c); m != "2" {
			t.Fatalf("got %q, want the ping", m)
		}
		wsWrite(t, c, "40/custom")
		sioNext(t, c)
		sioNext(t, c)
		wsWrite(t, c, "41/custom")
		wsWrite(t, c, `42["message","message to main namespace"]`)
		sioExpect(t, c, `42["message-back","message to main namespace"]`)
	})
	connected := func(t *testing.T) *websocket.Conn {
		c := d.sioWS()
		wsWrite(t, c, "40")
		sioExpectConnect(t, c, "40")
		sioExpect(t, c, `42["auth",{}]`)
		return c
	}
	// S26
	t.Run("S26 plain-text event", func(t *testing.T) {
		c := connected(t)
		wsWrite(t, c, `42["message",1,"2",{"3":[true]}]`)
		sioExpect(t, c, `42["message-back",1,"2",{"3":[true]}]`)
	})
	// S27
	t.Run("S27 binary event", func(t *testing.T) {
		c := connected(t)
		wsWrite(t, c, `452-["message",`+ph0+`,`+ph1+`]`)
		sioWriteBinary(t, c, []byte{1, 2, 3})
		sioWriteBinary(t, c, []byte{4, 5, 6})
		sioExpect(t, c, `452-["message-back",`+ph0+`,`+ph1+`]`)
		sioExpectBinary(t, c, []byte{1, 2, 3})
		sioExpectBinary(t, c, []byte{4, 5, 6})
	})
	// S28
	t.Run("S28 plain-text event with ack", func(t *testing.T) {
		c := connected(t)
		wsWrite(t, c, `42456["message-with-ack",1,"2",{"3":[false]}]`)
		sioExpect(t, c, `43456[1,"2",{"3":[false]}]`)
	})
	// S29
	t.Run("S29 binary event with ack", func(t *testing.T) {
		c := connected(t)
		wsWrite(t, c, `452-789["message-with-ack",`+ph0+`,`+ph1+`]`)
		sioWriteBinary(t, c, []byte{1, 2, 3})
		sioWriteBinary(t, c, []byte{4, 5, 6})
		sioExpect(t, c, `462-789[`+ph0+`,`+ph1+`]`)
		sioExpectBinary(t, c, []byte{1, 2, 3})
		sioExpectBinary(t, c, []byte{4, 5, 6})
	})
	// S30-S32
	for _, bad := range []string{"4abc", "42{}", `42abc["message-with-ack",1,"2",{"3":[false]}]`} {
		t.Run("S30-S32 invalid "+bad, func(t *testing.T) {
			c := connected(t)
			wsWrite(t, c, bad)
			wsWaitClosed(t, c)
		})
	}
}

// TestSIOBadInput: every malformed or out-of-place packet closes the
// connection, as the reference does.
func TestSIOBadInput(t *testing.T) {
	d := startSIO(t, sioSuiteServer(nil))
	for _, tc := range []struct {
		name string
		send []string // "b:" prefix: binary frame
	}{
		{"namespace not joined", []string{`42/custom,["message"]`}},
		{"second CONNECT", []string{"40"}},
		{"reserved event name", []string{`42["disconnect"]`}},
		{"unknown placeholder", []string{`451-["message",{"_placeholder":true,"num":2}]`, "b:x"}},
		{"binary without a packet", []string{"b:x"}},
		{"text while attachments pending", []string{`451-["message",` + ph0 + `]`, `42["message"]`}},
		{"CONNECT_ERROR from the client", []string{`44{"message":"x"}`}},
		{"oversize message", []string{"42[\"message\",\"" + strings.Repeat("x", 1000001) + "\"]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.sioWS()
			wsWrite(t, c, "40")
			sioExpectConnect(t, c, "40")
			sioExpect(t, c, `42["auth",{}]`)
			for _, m := range tc.send {
				var err error
				if b, ok := strings.CutPrefix(m, "b:"); ok {
					err = c.Write(context.Background(), websocket.MessageBinary, []byte(b))
				} else {
					err = c.Write(context.Background(), websocket.MessageText, []byte(m))
				}
				if err != nil {
					break // already closed
				}
			}
			wsWaitClosed(t, c)
		})
	}
	t.Run("oversize polling body", func(t *testing.T) {
		sid := d.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		if status, _ := d.do("POST", q, "40"); status != 200 {
			t.Fatalf("POST: %d", status)
		}
		if status, _ := d.do("POST", q, "42[\"message\",\""+strings.Repeat("x", 1000001)+"\"]"); status == 200 {
			t.Fatal("oversize POST accepted")
		}
		for {
			status, body := d.do("GET", q, "")
			if status != 200 {
				break // the session is gone
			}
			if strings.Contains(body, "message-back") {
				t.Fatal("the oversize message was processed")
			}
		}
	})
}
