package engineio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/internal/testutil"
)

// stDriver speaks raw Engine.IO to a Server on a loopback port.
type stDriver struct {
	t    testing.TB
	srv  *Server
	hs   *httptest.Server
	base string
}

func stEcho(s *Session) {
	for {
		m, err := s.Read(s.Context())
		if err != nil {
			return
		}
		if s.Send(m) != nil {
			return
		}
	}
}

func stOptions() *ServerOptions {
	// Long enough that no session times out while a loaded machine runs a test;
	// the heartbeat has its own fake-time tests.
	return &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute}
}

func stStart(t testing.TB, handler func(*Session), opts *ServerOptions) *stDriver {
	t.Helper()
	srv := NewServer(handler, opts)
	hs := testutil.Serve(t, srv, srv.Shutdown)
	path := srv.opts.Path
	return &stDriver{t: t, srv: srv, hs: hs, base: hs.URL + path}
}

type stResponse struct {
	status int
	header http.Header
	body   string
}

func (d *stDriver) req(method, query, body string, header http.Header) stResponse {
	d.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.base+"?"+query, r)
	if err != nil {
		d.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	// Raw bodies: no transparent decompression by the client.
	if req.Header.Get("Accept-Encoding") == "" {
		req.Header.Set("Accept-Encoding", "identity")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, query, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	return stResponse{res.StatusCode, res.Header, string(b)}
}

func (d *stDriver) get(query string) stResponse { return d.req(http.MethodGet, query, "", nil) }
func (d *stDriver) post(query, body string) stResponse {
	return d.req(http.MethodPost, query, body, nil)
}

func (d *stDriver) handshake() string {
	d.t.Helper()
	res := d.get("EIO=4&transport=polling")
	if res.status != 200 || !strings.HasPrefix(res.body, "0{") {
		d.t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	var open struct{ Sid string }
	if err := json.Unmarshal([]byte(res.body[1:]), &open); err != nil || open.Sid == "" {
		d.t.Fatalf("open packet %q: %v", res.body, err)
	}
	return open.Sid
}

func (d *stDriver) poll(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

func (d *stDriver) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(d.base, "http") + "?" + query
}

func (d *stDriver) dial(query string, opts *websocket.DialOptions) *websocket.Conn {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, d.wsURL(query), opts)
	if err != nil {
		d.t.Fatalf("dial %s: %v", query, err)
	}
	d.t.Cleanup(func() { c.CloseNow() })
	return c
}

// dialOpen opens a WebSocket-only session and returns it after the open packet.
func (d *stDriver) dialOpen() *websocket.Conn {
	d.t.Helper()
	c := d.dial("EIO=4&transport=websocket", nil)
	if _, m := stRead(d.t, c); !strings.HasPrefix(m, "0{") {
		d.t.Fatalf("open packet %q", m)
	}
	return c
}

// upgrade upgrades the polling session sid and returns its WebSocket.
func (d *stDriver) upgrade(sid string) *websocket.Conn {
	d.t.Helper()
	c := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(d.t, c, "2probe")
	if _, m := stRead(d.t, c); m != "3probe" {
		d.t.Fatalf("probe answer %q", m)
	}
	stWrite(d.t, c, "5")
	return c
}

func stRead(t testing.TB, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if typ == websocket.MessageText && string(b) == "2" {
			stWrite(t, c, "3")
			continue
		}
		return typ, string(b)
	}
}

func stWrite(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// stWaitClosed reads until the server closes c (answering pings) and returns the
// close error.
func stWaitClosed(t testing.TB, c *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("the server did not close the WebSocket")
			}
			return err
		}
		if typ == websocket.MessageText && string(b) == "2" {
			c.Write(ctx, websocket.MessageText, []byte("3"))
		}
	}
}

// stSessions collects the sessions a server opens.
type stSessions struct {
	ch chan *Session
}

func newSTSessions(handler func(*Session)) (*stSessions, func(*Session)) {
	c := &stSessions{ch: make(chan *Session, 64)}
	return c, func(s *Session) {
		c.ch <- s
		if handler != nil {
			handler(s)
			return
		}
		<-s.Context().Done() // the session stays open until closed

	}
}

func (c *stSessions) next(t testing.TB) *Session {
	t.Helper()
	select {
	case s := <-c.ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no session")
		return nil
	}
}

// stWaitClosedSession waits until s is closed and returns the cause.
func stWaitClosedSession(t testing.TB, s *Session) error {
	t.Helper()
	select {
	case <-s.Context().Done():
		return context.Cause(s.Context())
	case <-time.After(5 * time.Second):
		t.Fatal("session not closed")
		return nil
	}
}

type httptestServerT = httptest.Server

// newHTTPTestServer serves h on a loopback port until the test ends (the caller
// shuts the engine.io server down itself).
func newHTTPTestServer(t *testing.T, h http.Handler) *httptest.Server {
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return hs
}
