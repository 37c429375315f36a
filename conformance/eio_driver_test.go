package conformance

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// eioDriver speaks raw Engine.IO to a server under test: plain net/http requests
// for polling and coder/websocket for WebSockets.
type eioDriver struct {
	t    testing.TB
	base string // http://127.0.0.1:port/engine.io/
	srv  *engineio.Server

	mu    sync.Mutex
	polls map[string]int // GETs with a sid inside ServeHTTP, by sid
}

// suiteOptions are the settings the official suites expect.
func suiteOptions() *engineio.ServerOptions {
	return &engineio.ServerOptions{
		PingInterval:      300 * time.Millisecond,
		PingTimeout:       200 * time.Millisecond,
		MaxHTTPBufferSize: 1000000,
	}
}

// eioEchoHandler sends every message back unchanged.
func eioEchoHandler(s *engineio.Session) {
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

// startEIO serves handler at /engine.io/ on a loopback port until the test ends.
func startEIO(t testing.TB, handler func(*engineio.Session), opts *engineio.ServerOptions) *eioDriver {
	t.Helper()
	srv := engineio.NewServer(handler, opts)
	d := &eioDriver{t: t, srv: srv, polls: make(map[string]int)}
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := r.URL.Query().Get("sid")
		if r.Method != http.MethodGet || sid == "" || r.URL.Query().Get("transport") != "polling" {
			srv.ServeHTTP(w, r)
			return
		}
		d.mu.Lock()
		d.polls[sid]++
		d.mu.Unlock()
		defer func() {
			d.mu.Lock()
			d.polls[sid]--
			d.mu.Unlock()
		}()
		srv.ServeHTTP(w, r)
	}))
	hs := testutil.Serve(t, mux, srv.Shutdown)
	d.base = hs.URL + "/engine.io/"
	return d
}

func (d *eioDriver) url(query string) string { return d.base + "?" + query }

func (d *eioDriver) do(method, query, body string) (int, string) {
	d.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.url(query), r)
	if err != nil {
		d.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
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
	return res.StatusCode, string(b)
}

func (d *eioDriver) get(query string) (int, string) { return d.do(http.MethodGet, query, "") }
func (d *eioDriver) post(query, body string) (int, string) {
	return d.do(http.MethodPost, query, body)
}

// openPacket checks an open packet and returns its JSON fields.
func (d *eioDriver) openPacket(body string) map[string]any {
	d.t.Helper()
	if !strings.HasPrefix(body, "0") {
		d.t.Fatalf("not an open packet: %q", body)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(body[1:]), &v); err != nil {
		d.t.Fatalf("open packet %q: %v", body, err)
	}
	return v
}

// handshake opens a polling session and returns its sid.
func (d *eioDriver) handshake() string {
	d.t.Helper()
	status, body := d.get("EIO=4&transport=polling")
	if status != http.StatusOK {
		d.t.Fatalf("handshake: %d %q", status, body)
	}
	sid, _ := d.openPacket(body)["sid"].(string)
	if sid == "" {
		d.t.Fatalf("handshake without sid: %q", body)
	}
	return sid
}

func (d *eioDriver) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(d.url(query), "http")
}

// dial opens a WebSocket with the given query, closed at the end of the test.
func (d *eioDriver) dial(query string) *websocket.Conn {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, d.wsURL(query), nil)
	if err != nil {
		d.t.Fatalf("dial %s: %v", query, err)
	}
	d.t.Cleanup(func() { c.CloseNow() })
	return c
}

// read returns the next WebSocket message, failing the test after 5 s.
func wsRead(t testing.TB, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(b)
}

// wsReadSkipPings returns the next message that is not a ping.
func wsReadSkipPings(t testing.TB, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	for {
		typ, s := wsRead(t, c)
		if typ == websocket.MessageText && s == "2" {
			wsWrite(t, c, "3")
			continue
		}
		return typ, s
	}
}

func wsWrite(t testing.TB, c *websocket.Conn, s string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		t.Fatalf("write %q: %v", s, err)
	}
}

// wsWaitClosed reads until the server closes the connection (pings are not
// answered), failing after 5 s.
func wsWaitClosed(t testing.TB, c *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the server did not close the WebSocket")
			}
			return
		}
	}
}

// waitHeldPoll waits until a GET of session sid is inside the server's ServeHTTP
// and then a moment more, so that the server holds it (holding a poll is not
// observable on the wire; the official suite relies on the same ordering).
func (d *eioDriver) waitHeldPoll(sid string) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.mu.Lock()
		n := d.polls[sid]
		d.mu.Unlock()
		if n > 0 {
			time.Sleep(10 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatal("the poll never reached the server")
		}
		time.Sleep(time.Millisecond)
	}
}
