package conformance

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// The Go Engine.IO client against the npm engine.io 6.6 server
// (node/eioclient_server.js).

// startEIOServer starts the node engine.io server with the given options (JSON
// merged into the Server options) and returns its URL and process.
func startEIOServer(t *testing.T, options string) (string, *testutil.NodeProcess) {
	t.Helper()
	port := testutil.FreePort(t)
	args := []string{strconv.Itoa(port)}
	if options != "" {
		args = append(args, options)
	}
	p := testutil.StartNode(t, "conformance/node/eioclient_server.js", args...)
	p.WaitLine(t, "listening", 10*time.Second)
	return "http://127.0.0.1:" + strconv.Itoa(port), p
}

func eioCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func eioDial(t *testing.T, u string, opts *engineio.DialOptions) *engineio.Conn {
	t.Helper()
	c, err := engineio.Dial(eioCtx(t), u, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// eioEcho sends n text and binary messages and checks the server's echoes in order.
func eioEcho(t *testing.T, c *engineio.Conn, n int) {
	t.Helper()
	ctx := eioCtx(t)
	var want []engineio.Message
	for i := range n {
		m := engineio.Message{Data: []byte("héllo " + strconv.Itoa(i))}
		if i%2 == 1 {
			m = engineio.Message{Binary: true, Data: []byte{byte(i), 0, 0x1e, 0xff}}
		}
		want = append(want, m)
		if err := c.Send(m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for i, w := range want {
		got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if got.Binary != w.Binary || !bytes.Equal(got.Data, w.Data) {
			t.Fatalf("message %d: got %+v, want %+v", i, got, w)
		}
	}
}

func TestEIOGoClientTransports(t *testing.T) {
	cases := []struct {
		name    string
		opts    engineio.DialOptions
		upgrade bool
	}{
		{"polling", engineio.DialOptions{Transports: []string{"polling"}}, false},
		{"polling-no-upgrade", engineio.DialOptions{DisableUpgrade: true}, false},
		{"websocket", engineio.DialOptions{Transports: []string{"websocket"}}, false},
		{"upgrade", engineio.DialOptions{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Pings every 200 ms; a pong may take up to 1 s on a loaded machine
			// (with 200 ms, the race-enabled client missed it under load).
			u, node := startEIOServer(t, `{"pingInterval":200,"pingTimeout":1000}`)
			c := eioDial(t, u, &tc.opts)
			first := "polling"
			if len(tc.opts.Transports) > 0 {
				first = tc.opts.Transports[0]
			}
			node.WaitLine(t, "connection "+c.ID()+" "+first, 10*time.Second)
			eioEcho(t, c, 20)
			if tc.upgrade {
				node.WaitLine(t, "upgrade "+c.ID()+" websocket", 10*time.Second)
				deadline := time.Now().Add(10 * time.Second)
				for c.Transport() != "websocket" && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				if c.Transport() != "websocket" {
					t.Fatalf("transport %q after the server saw the upgrade", c.Transport())
				}
				eioEcho(t, c, 20)
			} else if c.Transport() != first {
				t.Fatalf("transport %q, want %q", c.Transport(), first)
			}
			// Heartbeat: the server pings every 200 ms and drops the session after
			// 1 s without a pong (1.2 s in all); outlive several rounds.
			time.Sleep(1500 * time.Millisecond)
			eioEcho(t, c, 2)
			c.Close()
			node.WaitLine(t, "close "+c.ID()+" ", 10*time.Second)
			for _, l := range node.Lines() {
				if strings.HasPrefix(l, "close "+c.ID()+" ") && l != "close "+c.ID()+" transport close" {
					t.Fatalf("server saw %q, want transport close (our close packet)", l)
				}
			}
			if cause := context.Cause(c.Context()); cause != engineio.ReasonForcedClose {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}

func TestEIOGoClientServerClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			u, _ := startEIOServer(t, "")
			c := eioDial(t, u, &engineio.DialOptions{Transports: []string{tr}})
			ctx := eioCtx(t)
			if err := c.Send(engineio.Message{Data: []byte("before")}); err != nil {
				t.Fatal(err)
			}
			if m, err := c.Read(ctx); err != nil || string(m.Data) != "before" {
				t.Fatalf("Read: %q %v", m.Data, err)
			}
			if err := c.Send(engineio.Message{Data: []byte("close-me")}); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(ctx)
			if !errors.Is(err, engineio.ReasonTransportClose) {
				t.Fatalf("Read: %v, want transport close", err)
			}
			if cause := context.Cause(c.Context()); cause != engineio.ReasonTransportClose {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}

func TestEIOGoClientPingTimeout(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			u, _ := startEIOServer(t, `{"pingInterval":100,"pingTimeout":100}`)
			c := eioDial(t, u, &engineio.DialOptions{Transports: []string{tr}})
			if info := c.OpenInfo(); info.PingInterval != 100*time.Millisecond || info.PingTimeout != 100*time.Millisecond {
				t.Fatalf("open info %+v", info)
			}
			// The server's event loop stops: no more pings.
			if err := c.Send(engineio.Message{Data: []byte("freeze:3000")}); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(eioCtx(t))
			if !errors.Is(err, engineio.ReasonPingTimeout) {
				t.Fatalf("Read: %v, want ping timeout", err)
			}
			if cause := context.Cause(c.Context()); cause != engineio.ReasonPingTimeout {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}

func TestEIOGoClientHeadersAndQuery(t *testing.T) {
	u, node := startEIOServer(t, "")
	c := eioDial(t, u, &engineio.DialOptions{
		ExtraHeaders: http.Header{"X-Corvid": {"yes"}},
		Query:        url.Values{"token": {"abc"}},
	})
	eioEcho(t, c, 4)
	node.WaitLine(t, "upgrade "+c.ID(), 10*time.Second)
	eioEcho(t, c, 2)
	seen := map[string]bool{}
	for _, l := range node.Lines() {
		if !strings.HasPrefix(l, "request ") {
			continue
		}
		f := strings.Fields(l)
		seen[f[1]+" "+f[2]] = true
		if f[3] != "header=yes" || f[4] != "query=abc" {
			t.Fatalf("server saw %q", l)
		}
	}
	for _, k := range []string{"GET polling", "POST polling", "GET websocket"} {
		if !seen[k] {
			t.Fatalf("no %s request: %v", k, seen)
		}
	}
}

func TestEIOGoClientMaxPayload(t *testing.T) {
	// The server refuses POST bodies over 300 bytes (413, session closed): the client
	// must split its queue into payloads that fit.
	u, _ := startEIOServer(t, `{"maxHttpBufferSize":300,"transports":["polling"]}`)
	c := eioDial(t, u, &engineio.DialOptions{Transports: []string{"polling"}})
	if c.OpenInfo().MaxPayload != 300 {
		t.Fatalf("maxPayload %d", c.OpenInfo().MaxPayload)
	}
	var msgs []engineio.Message
	for i := range 60 {
		msgs = append(msgs, engineio.Message{Binary: i%3 == 0, Data: bytes.Repeat([]byte{'a' + byte(i%26)}, 40+i)})
	}
	if err := c.Send(msgs...); err != nil {
		t.Fatal(err)
	}
	ctx := eioCtx(t)
	for i, w := range msgs {
		m, err := c.Read(ctx)
		if err != nil || m.Binary != w.Binary || !bytes.Equal(m.Data, w.Data) {
			t.Fatalf("message %d: %+v %v", i, m, err)
		}
	}
}

func TestEIOGoClientRememberUpgrade(t *testing.T) {
	u, node := startEIOServer(t, "")
	c := eioDial(t, u, &engineio.DialOptions{RememberUpgrade: true})
	node.WaitLine(t, "upgrade "+c.ID(), 10*time.Second)
	eioEcho(t, c, 2) // after the server's upgrade, the client has switched too
	c.Close()
	c2 := eioDial(t, u, &engineio.DialOptions{RememberUpgrade: true})
	if c2.Transport() != "websocket" {
		t.Fatalf("transport %q, want websocket", c2.Transport())
	}
	node.WaitLine(t, "connection "+c2.ID()+" websocket", 10*time.Second)
	eioEcho(t, c2, 2)
}
