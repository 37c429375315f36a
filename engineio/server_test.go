package engineio

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"github.com/corvid-io/corvid/internal/ws"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/internal/testutil"
)

func TestServerErrors(t *testing.T) {
	d := stStart(t, stEcho, stOptions())
	sid := d.handshake()
	cases := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"no transport", "GET", "EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"unknown transport", "GET", "EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"no EIO", "GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO=3", "GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"bad EIO", "GET", "EIO=abc&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"EIO mismatch with sid", "GET", "EIO=3&transport=polling&sid=" + sid, 400, `{"code":3,"message":"Bad request"}`},
		{"transport mismatch with sid", "GET", "EIO=4&transport=websocket&sid=" + sid, 400, `{"code":3,"message":"Bad request"}`},
		{"PUT with sid", "PUT", "EIO=4&transport=polling&sid=" + sid, 500, ""},
	}
	for _, c := range cases {
		res := d.req(c.method, c.query, "", nil)
		if res.status != c.status || res.body != c.body {
			t.Errorf("%s: %d %q, want %d %q", c.name, res.status, res.body, c.status, c.body)
		}
		if c.body != "" && res.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", c.name, res.header.Get("Content-Type"))
		}
	}
	// The session survived the requests that named it without closing it.
	if res := d.post(d.poll(sid), "4still"); res.status != 200 || res.body != "ok" {
		t.Fatalf("POST: %d %q", res.status, res.body)
	}
	if res := d.get(d.poll(sid)); res.body != "4still" {
		t.Errorf("GET %q", res.body)
	}
	// WebSocket handshakes are refused with a bare 400, as the reference does.
	for _, q := range []string{"EIO=4&transport=websocket&sid=nope", "EIO=3&transport=websocket", "EIO=4&transport=abc"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, res, err := websocket.Dial(ctx, d.wsURL(q), nil)
		cancel()
		if err == nil {
			c.CloseNow()
			t.Errorf("%s: accepted", q)
			continue
		}
		if res == nil || res.StatusCode != 400 {
			t.Errorf("%s: %v", q, err)
		}
	}
	if got := d.get("").status; got != 400 {
		t.Errorf("no query: %d", got)
	}
	if d.srv.Len() != 1 {
		t.Errorf("sessions: %d", d.srv.Len())
	}
}

func TestServerPathNotFound(t *testing.T) {
	d := stStart(t, stEcho, nil)
	res, err := http.Get(d.hs.URL + "/other/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Errorf("status %d", res.StatusCode)
	}
}

func TestServerPollingContentTypes(t *testing.T) {
	d := stStart(t, stEcho, stOptions())
	res := d.get("EIO=4&transport=polling")
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("handshake Content-Type %q", ct)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	sid := d.handshake()
	res = d.post(d.poll(sid), "4x")
	if res.body != "ok" || res.header.Get("Content-Type") != "text/html" {
		t.Errorf("POST: %q %q", res.body, res.header.Get("Content-Type"))
	}
}

func TestServerOversizePost(t *testing.T) {
	opts := stOptions()
	opts.MaxHTTPBufferSize = 100
	d := stStart(t, stEcho, opts)
	sid := d.handshake()
	if res := d.post(d.poll(sid), "4"+strings.Repeat("a", 100)); res.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize POST: %d", res.status)
	}
	// As the reference: the session stays open.
	if res := d.post(d.poll(sid), "4small"); res.status != 200 {
		t.Fatalf("POST: %d", res.status)
	}
	if res := d.get(d.poll(sid)); res.body != "4small" {
		t.Errorf("GET %q", res.body)
	}
}

func TestServerMalformedPayloads(t *testing.T) {
	cases := []struct {
		name, body string
		delivered  []string
	}{
		{"empty", "", nil},
		{"truncated", "4a\x1e", []string{"a"}},
		{"empty packet inside", "4a\x1e\x1e4b", []string{"a"}},
		{"bad base64", "4a\x1eb!!!!", []string{"a"}},
		{"unknown type", "9x", nil},
		{"letter type", "abc", nil},
		{"ping from client", "2", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sessions, handler := newSTSessions(nil)
			d := stStart(t, handler, stOptions())
			sid := d.handshake()
			s := sessions.next(t)
			if res := d.post(d.poll(sid), c.body); res.status != 200 || res.body != "ok" {
				t.Errorf("POST: %d %q", res.status, res.body)
			}
			for _, want := range c.delivered {
				m, err := s.Read(context.Background())
				if err != nil || string(m.Data) != want {
					t.Fatalf("Read: %q %v, want %q", m.Data, err, want)
				}
			}
			cause := stWaitClosedSession(t, s)
			want := ReasonParseError
			if c.name == "ping from client" {
				want = ReasonTransportError
			}
			if cause != want {
				t.Errorf("cause %v, want %v", cause, want)
			}
			if _, err := s.Read(context.Background()); !errors.Is(err, want) {
				t.Errorf("Read after close: %v", err)
			}
			if res := d.get(d.poll(sid)); res.status != 400 {
				t.Errorf("GET after: %d %q", res.status, res.body)
			}
			// The server keeps serving others.
			d.handshake()
		})
	}
}

func TestServerOctetStreamPost(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	sid := d.handshake()
	s := sessions.next(t)
	res := d.req("POST", d.poll(sid), "4x", http.Header{"Content-Type": {"application/octet-stream"}})
	if res.status != 400 {
		t.Errorf("status %d", res.status)
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonTransportError {
		t.Errorf("cause %v", cause)
	}
}

func TestServerConcurrentGets(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute})
	sid := d.handshake()
	s := sessions.next(t)
	first := make(chan stResponse, 1)
	go func() { first <- d.get(d.poll(sid)) }()
	stWaitPoll(t, s)
	if res := d.get(d.poll(sid)); res.status != 400 {
		t.Errorf("second GET: %d", res.status)
	}
	if res := <-first; res.status != 200 || res.body != "1" {
		t.Errorf("held GET: %d %q", res.status, res.body)
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonTransportError {
		t.Errorf("cause %v", cause)
	}
}

// stWaitPoll waits until s holds a GET.
func stWaitPoll(t testing.TB, s *Session) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		held := s.poll != nil
		s.mu.Unlock()
		if held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no poll held")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServerCloseDuringPoll(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute})
	sid := d.handshake()
	s := sessions.next(t)
	got := make(chan stResponse, 1)
	go func() { got <- d.get(d.poll(sid)) }()
	stWaitPoll(t, s)
	s.Send(Message{Data: []byte("bye")})
	if res := <-got; res.body != "4bye" {
		t.Fatalf("GET %q", res.body)
	}
	// Close without a held poll: the queue and the close packet wait for the next GET.
	s.Send(Message{Data: []byte("last")})
	s.Close()
	s.Close() // idempotent
	if cause := stWaitClosedSession(t, s); cause != ReasonForcedClose {
		t.Errorf("cause %v", cause)
	}
	if err := s.Send(Message{Data: []byte("x")}); !errors.Is(err, ReasonForcedClose) {
		t.Errorf("Send after Close: %v", err)
	}
	if res := d.get(d.poll(sid)); res.body != "4last\x1e1" {
		t.Errorf("GET after Close: %q", res.body)
	}
	if res := d.get(d.poll(sid)); res.status != 400 {
		t.Errorf("GET after the close packet: %d", res.status)
	}
}

func TestServerCORS(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		d := stStart(t, stEcho, nil)
		res := d.req("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://a.example"}})
		if v := res.header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("ACAO %q", v)
		}
		// A cross-origin WebSocket is refused; one without Origin is accepted.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, r, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://a.example"}}})
		if err == nil || r == nil || r.StatusCode != 403 {
			t.Errorf("cross-origin websocket: %v", err)
		}
		d.dialOpen()
	})
	t.Run("allow list", func(t *testing.T) {
		d := stStart(t, stEcho, &ServerOptions{CORS: &CORSOptions{
			Origins: []string{"https://a.example"}, Credentials: true,
		}})
		res := d.req("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://a.example"}})
		if v := res.header.Get("Access-Control-Allow-Origin"); v != "https://a.example" {
			t.Errorf("ACAO %q", v)
		}
		if v := res.header.Get("Access-Control-Allow-Credentials"); v != "true" {
			t.Errorf("ACAC %q", v)
		}
		res = d.req("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://b.example"}})
		if v := res.header.Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("ACAO for another origin %q", v)
		}
		res = d.req("OPTIONS", "EIO=4&transport=polling", "", http.Header{
			"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type"},
		})
		if res.status != 204 || res.header.Get("Access-Control-Allow-Methods") != defaultCORSMethods ||
			res.header.Get("Access-Control-Allow-Headers") != "content-type" {
			t.Errorf("preflight: %d %v", res.status, res.header)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, r, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://b.example"}}})
		if err == nil || r == nil || r.StatusCode != 403 {
			t.Errorf("websocket from a refused origin: %v", err)
		}
		c, _, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://a.example"}}})
		if err != nil {
			t.Fatalf("websocket from an allowed origin: %v", err)
		}
		c.CloseNow()
	})
	t.Run("func", func(t *testing.T) {
		d := stStart(t, stEcho, &ServerOptions{CORS: &CORSOptions{
			AllowOrigin: func(o string) bool { return strings.HasSuffix(o, ".good.example") },
		}})
		res := d.req("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://x.good.example"}})
		if v := res.header.Get("Access-Control-Allow-Origin"); v != "https://x.good.example" {
			t.Errorf("ACAO %q", v)
		}
	})
	t.Run("wildcard", func(t *testing.T) {
		d := stStart(t, stEcho, &ServerOptions{CORS: &CORSOptions{Origins: []string{"*"}}})
		res := d.req("GET", "EIO=4&transport=polling", "", http.Header{"Origin": {"https://any.example"}})
		if v := res.header.Get("Access-Control-Allow-Origin"); v != "*" {
			t.Errorf("ACAO %q", v)
		}
		c, _, err := websocket.Dial(context.Background(), d.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"https://any.example"}}})
		if err != nil {
			t.Fatal(err)
		}
		c.CloseNow()
	})
}

func TestServerAllowRequest(t *testing.T) {
	refuse := ""
	d := stStart(t, stEcho, &ServerOptions{AllowRequest: func(r *http.Request) error {
		if r.URL.Query().Get("token") == "ok" {
			return nil
		}
		return errors.New(refuse)
	}})
	res := d.get("EIO=4&transport=polling")
	if res.status != 403 || res.body != `{"code":4,"message":"Forbidden"}` {
		t.Errorf("refused: %d %q", res.status, res.body)
	}
	refuse = `no "token"`
	res = d.get("EIO=4&transport=polling")
	if res.status != 403 || res.body != `{"code":4,"message":"no \"token\""}` {
		t.Errorf("refused with a message: %d %q", res.status, res.body)
	}
	if res := d.get("EIO=4&transport=polling&token=ok"); res.status != 200 {
		t.Errorf("allowed: %d", res.status)
	}
	// A refused WebSocket gets the reference's bare 400 with the message.
	refuse = ""
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, r, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"), nil)
	if err == nil || r == nil || r.StatusCode != 400 {
		t.Fatalf("refused websocket: %v", err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "Forbidden" {
		t.Errorf("refused websocket body %q", b)
	}
	c, _, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket&token=ok"), nil)
	if err != nil {
		t.Fatalf("allowed websocket: %v", err)
	}
	c.CloseNow()
}

func TestServerCookie(t *testing.T) {
	d := stStart(t, stEcho, nil)
	if res := d.get("EIO=4&transport=polling"); res.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie by default: %q", res.header.Get("Set-Cookie"))
	}
	d = stStart(t, stEcho, &ServerOptions{Cookie: &CookieOptions{}})
	res := d.get("EIO=4&transport=polling")
	sid := res.body[9:29]
	if want := "io=" + sid + "; Path=/; HttpOnly; SameSite=Lax"; res.header.Get("Set-Cookie") != want {
		t.Errorf("cookie %q, want %q", res.header.Get("Set-Cookie"), want)
	}
	// Later requests of the session carry no cookie.
	if res := d.post(d.poll(sid), "4x"); res.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie on POST")
	}
}

func TestServerHTTPCompression(t *testing.T) {
	big := strings.Repeat("compressible ", 200)
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute})
	sid := d.handshake()
	s := sessions.next(t)
	for _, enc := range []string{"gzip", "deflate", "identity"} {
		s.Send(Message{Data: []byte(big)})
		res := d.req("GET", d.poll(sid), "", http.Header{"Accept-Encoding": {enc}})
		var r io.Reader = strings.NewReader(res.body)
		switch enc {
		case "gzip":
			zr, err := gzip.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		case "deflate":
			zr, err := zlib.NewReader(r)
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		}
		if got := res.header.Get("Content-Encoding"); got != map[string]string{"gzip": "gzip", "deflate": "deflate"}[enc] {
			t.Errorf("%s: Content-Encoding %q", enc, got)
		}
		b, err := io.ReadAll(r)
		if err != nil || string(b) != "4"+big {
			t.Errorf("%s: body %d bytes, %v", enc, len(b), err)
		}
	}
	// Below the threshold: not compressed.
	s.Send(Message{Data: []byte("small")})
	if res := d.req("GET", d.poll(sid), "", http.Header{"Accept-Encoding": {"gzip"}}); res.header.Get("Content-Encoding") != "" || res.body != "4small" {
		t.Errorf("small body: %q %q", res.header.Get("Content-Encoding"), res.body)
	}

	sessions2, handler2 := newSTSessions(nil)
	d2 := stStart(t, handler2, &ServerOptions{PingInterval: time.Minute, DisableHTTPCompression: true})
	sid2 := d2.handshake()
	sessions2.next(t).Send(Message{Data: []byte(big)})
	if res := d2.req("GET", d2.poll(sid2), "", http.Header{"Accept-Encoding": {"gzip"}}); res.header.Get("Content-Encoding") != "" {
		t.Errorf("compression disabled but got %q", res.header.Get("Content-Encoding"))
	}
}

func TestAcceptedEncoding(t *testing.T) {
	cases := map[string]string{
		"":                        "",
		"gzip":                    "gzip",
		"deflate":                 "deflate",
		"gzip, deflate, br":       "gzip",
		"deflate;q=1, gzip;q=0.5": "deflate",
		"gzip;q=0":                "",
		"*":                       "gzip",
		"br":                      "",
		"identity":                "",
	}
	for h, want := range cases {
		if got := acceptedEncoding(h); got != want {
			t.Errorf("acceptedEncoding(%q) = %q, want %q", h, got, want)
		}
	}
}

func TestServerPerMessageDeflate(t *testing.T) {
	for _, on := range []bool{false, true} {
		d := stStart(t, stEcho, &ServerOptions{PerMessageDeflate: on})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, res, err := websocket.Dial(ctx, d.wsURL("EIO=4&transport=websocket"),
			&websocket.DialOptions{CompressionMode: websocket.CompressionNoContextTakeover})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		ext := res.Header.Get("Sec-WebSocket-Extensions")
		if got := strings.Contains(ext, "permessage-deflate"); got != on {
			t.Errorf("PerMessageDeflate %v: extensions %q", on, ext)
		}
		stRead(t, c)
		big := strings.Repeat("z", 5000)
		stWrite(t, c, "4"+big)
		if _, m := stRead(t, c); m != "4"+big {
			t.Errorf("echo of %d bytes: %d bytes", len(big)+1, len(m))
		}
		c.CloseNow()
	}
}

func TestSessionAPI(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	res := d.req("GET", "EIO=4&transport=polling&foo=bar", "", http.Header{"Cookie": {"a=b"}, "X-Test": {"1"}})
	s := sessions.next(t)
	if !strings.Contains(res.body, s.ID()) || len(s.ID()) != 20 {
		t.Errorf("sid %q in %q", s.ID(), res.body)
	}
	h := s.Handshake()
	if h.Query.Get("foo") != "bar" || h.Header.Get("X-Test") != "1" || h.Header.Get("Cookie") != "a=b" ||
		h.RemoteAddr == "" || h.URL.Path != "/engine.io/" || h.Secure || time.Since(h.Time) > time.Minute {
		t.Errorf("handshake %+v", h)
	}
	if s.Transport() != "polling" {
		t.Errorf("transport %q", s.Transport())
	}
	c := d.upgrade(s.ID())
	stWrite(t, c, "4hi")
	m, err := s.Read(context.Background())
	if err != nil || string(m.Data) != "hi" || m.Binary {
		t.Fatalf("Read %+v %v", m, err)
	}
	if s.Transport() != "websocket" {
		t.Errorf("transport %q", s.Transport())
	}
	ws := d.dialOpen()
	s2 := sessions.next(t)
	if s2.ID() == s.ID() || s2.Transport() != "websocket" {
		t.Errorf("second session %q %q", s2.ID(), s2.Transport())
	}
	if err := s2.Send(Message{Binary: true, Data: []byte{9, 8}}, Message{Data: []byte("t")}); err != nil {
		t.Fatal(err)
	}
	if typ, m := stRead(t, ws); typ != websocket.MessageBinary || m != "\x09\x08" {
		t.Errorf("binary %v %q", typ, m)
	}
	if _, m := stRead(t, ws); m != "4t" {
		t.Errorf("text %q", m)
	}
	s2.Close()
	if err := stWaitClosed(t, ws); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("close: %v", err)
	}
	if cause := context.Cause(s2.Context()); cause != ReasonForcedClose {
		t.Errorf("cause %v", cause)
	}
	if _, err := s2.Read(context.Background()); !errors.Is(err, ReasonForcedClose) || !strings.HasPrefix(err.Error(), "engineio: ") {
		t.Errorf("Read after close: %v", err)
	}
}

func TestSessionIDsUnique(t *testing.T) {
	seen := make(map[string]bool)
	for i := 0; i < 10000; i++ {
		id := newSessionID()
		if seen[id] || len(id) != 20 {
			t.Fatalf("id %q (dup %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestSessionReadContext(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	c := d.dialOpen()
	s := sessions.next(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read with a cancelled ctx: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := s.Read(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read: %v", err)
	}
	// The session is still open and the message read in the background arrives.
	stWrite(t, c, "4later")
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := s.Read(ctx)
	if err != nil || string(m.Data) != "later" {
		t.Fatalf("Read %q %v", m.Data, err)
	}
	stWrite(t, c, "4direct")
	m, err = s.Read(context.Background())
	if err != nil || string(m.Data) != "direct" {
		t.Fatalf("Read %q %v", m.Data, err)
	}
}

func TestSessionSlowConsumer(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute, MaxSendQueueLen: 3, MaxSendQueueBytes: 100})
	d.handshake()
	s := sessions.next(t)
	if !s.TrySend(Message{Data: []byte("a")}, Message{Data: []byte("b")}) {
		t.Fatal("TrySend refused")
	}
	if s.TrySend(Message{Data: []byte("c")}, Message{Data: []byte("d")}) {
		t.Error("TrySend over the limit accepted")
	}
	if s.TrySend(Message{Data: make([]byte, 200)}) {
		t.Error("TrySend over the byte limit accepted")
	}
	if err := s.Context().Err(); err != nil {
		t.Fatalf("TrySend closed the session: %v", err)
	}
	if err := s.Send(Message{Data: []byte("c")}, Message{Data: []byte("d")}); !errors.Is(err, ReasonSlowConsumer) {
		t.Errorf("Send over the limit: %v", err)
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonSlowConsumer {
		t.Errorf("cause %v", cause)
	}
}

func TestServerShutdown(t *testing.T) {
	reasons := make(chan error, 4)
	srv := NewServer(func(s *Session) {
		_, err := s.Read(context.Background())
		reasons <- err
	}, &ServerOptions{PingInterval: time.Minute})
	d := &stDriver{t: t, srv: srv}
	d.hs = httptestServer(t, srv)
	d.base = d.hs.URL + "/engine.io/"
	sid := d.handshake()
	polled := make(chan stResponse, 1)
	go func() { polled <- d.get(d.poll(sid)) }()
	ws := d.dialOpen()
	for srv.Len() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := <-reasons; !errors.Is(err, ReasonServerClose) {
			t.Errorf("handler Read: %v", err)
		}
	}
	if res := <-polled; res.body != "1" {
		t.Errorf("held poll got %q", res.body)
	}
	stWaitClosed(t, ws)
	if res := d.get("EIO=4&transport=polling"); res.status != 503 {
		t.Errorf("handshake after Shutdown: %d", res.status)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestServerShutdownTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := NewServer(func(s *Session) { <-release }, nil)
	d := &stDriver{t: t, srv: srv}
	d.hs = httptestServer(t, srv)
	d.base = d.hs.URL + "/engine.io/"
	d.handshake()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a stuck handler: %v", err)
	}
	close(release)
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestServerUpgradeQueued(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	sid := d.handshake()
	s := sessions.next(t)
	c := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(t, c, "2probe")
	if _, m := stRead(t, c); m != "3probe" {
		t.Fatal(m)
	}
	// Sent during the upgrade, after the poll was released: goes over the WebSocket.
	if res := d.get(d.poll(sid)); res.body != "6" {
		t.Fatalf("poll during upgrade %q", res.body)
	}
	s.Send(Message{Data: []byte("queued")})
	stWrite(t, c, "5")
	if _, m := stRead(t, c); m != "4queued" {
		t.Errorf("after upgrade %q", m)
	}
}

func TestServerUpgradeFailures(t *testing.T) {
	sessions, handler := newSTSessions(stEcho)
	opts := stOptions()
	opts.UpgradeTimeout = 50 * time.Millisecond
	opts.PingInterval = time.Minute
	d := stStart(t, handler, opts)
	sid := d.handshake()
	s := sessions.next(t)
	// No probe within upgradeTimeout: the WebSocket is closed, polling goes on.
	c := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWaitClosed(t, c)
	// A wrong first packet: closed too.
	c = d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(t, c, "4nope")
	stWaitClosed(t, c)
	if s.Transport() != "polling" || s.Context().Err() != nil {
		t.Fatalf("session after failed upgrades: %s %v", s.Transport(), s.Context().Err())
	}
	d.post(d.poll(sid), "4still")
	if res := d.get(d.poll(sid)); res.body != "4still" {
		t.Errorf("GET %q", res.body)
	}
	// A second WebSocket while one is probing is accepted, then closed (on a
	// server with the default upgradeTimeout).
	d = stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute})
	sid = d.handshake()
	c1 := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWrite(t, c1, "2probe")
	stRead(t, c1)
	c2 := d.dial("EIO=4&transport=websocket&sid="+sid, nil)
	stWaitClosed(t, c2)
	stWrite(t, c1, "5")
	stWrite(t, c1, "4ws")
	if _, m := stRead(t, c1); m != "4ws" {
		t.Errorf("echo %q", m)
	}
}

func TestServerDisableUpgrades(t *testing.T) {
	d := stStart(t, stEcho, &ServerOptions{DisableUpgrades: true})
	if res := d.get("EIO=4&transport=polling"); !strings.Contains(res.body, `"upgrades":[]`) {
		t.Errorf("open %q", res.body)
	}
	d = stStart(t, stEcho, &ServerOptions{Transports: []string{"polling"}})
	if res := d.get("EIO=4&transport=polling"); !strings.Contains(res.body, `"upgrades":[]`) {
		t.Errorf("open %q", res.body)
	}
	if res := d.get("EIO=4&transport=websocket"); res.body != `{"code":0,"message":"Transport unknown"}` {
		t.Errorf("websocket disabled: %q", res.body)
	}
}

func TestServerWebSocketLimits(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{MaxHTTPBufferSize: 100})
	c := d.dialOpen()
	s := sessions.next(t)
	go s.Read(context.Background())
	c.Write(context.Background(), websocket.MessageText, []byte("4"+strings.Repeat("x", 200)))
	if err := stWaitClosed(t, c); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("close: %v", err)
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonTransportError {
		t.Errorf("cause %v", cause)
	}
}

func TestServerWebSocketClientClose(t *testing.T) {
	sessions, handler := newSTSessions(stEcho)
	d := stStart(t, handler, stOptions())
	c := d.dialOpen()
	s := sessions.next(t)
	stWrite(t, c, "1")
	stWaitClosed(t, c)
	if cause := stWaitClosedSession(t, s); cause != ReasonTransportClose {
		t.Errorf("cause %v", cause)
	}
	c = d.dialOpen()
	s = sessions.next(t)
	c.Close(websocket.StatusGoingAway, "")
	if cause := stWaitClosedSession(t, s); cause != ReasonTransportClose {
		t.Errorf("cause after a close frame %v", cause)
	}
}

func TestServerPingTimeoutReason(t *testing.T) {
	sessions, handler := newSTSessions(stEcho)
	d := stStart(t, handler, &ServerOptions{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	c := d.dial("EIO=4&transport=websocket", nil)
	s := sessions.next(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			break // never answering pings
		}
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonPingTimeout {
		t.Errorf("cause %v", cause)
	}
}

// TestWebSocketIdleGoroutines checks that an idle WebSocket session holds one
// goroutine of ours: the handler blocked in Read (writers exit once drained;
// the connections are read by the process's pollers, at most one per P, or
// on other systems by a reader goroutine each).
func TestWebSocketIdleGoroutines(t *testing.T) {
	const n = 40
	d := stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute})
	base := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = d.dialOpen()
		stWrite(t, conns[i], "4x")
		if _, m := stRead(t, conns[i]); m != "4x" {
			t.Fatal(m)
		}
	}
	// n handlers and the pollers; the writers and net/http's goroutines
	// have ended.
	want := base + n + runtime.GOMAXPROCS(0)
	if !ws.Pollers {
		want = base + 2*n
	}
	testutil.CheckNoNewGoroutines(t, want, 5*time.Second)
	for _, c := range conns {
		c.CloseNow()
	}
	testutil.CheckNoNewGoroutines(t, base, 5*time.Second)
}

func httptestServer(t *testing.T, h http.Handler) *httptestServerT {
	return newHTTPTestServer(t, h)
}

// TestWebSocketEarlyFrame sends the first frame in the same write as the upgrade
// request: the bytes net/http already buffered must reach the session.
func TestWebSocketEarlyFrame(t *testing.T) {
	d := stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute})
	host := strings.TrimPrefix(d.hs.URL, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := []byte("4early")
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	req := "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write(append([]byte(req), frame...)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	readFrame := func() string {
		var hdr [2]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, hdr[1]&0x7f)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		return string(p)
	}
	if open := readFrame(); !strings.HasPrefix(open, "0{") {
		t.Fatalf("open %q", open)
	}
	if echo := readFrame(); echo != "4early" {
		t.Errorf("echo %q", echo)
	}
}

// TestSlowConsumerWebSocket: a peer that never reads fills the TCP buffers; the
// session closes with ReasonSlowConsumer and its writer does not stay blocked.
func TestSlowConsumerWebSocket(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute, MaxSendQueueBytes: 1 << 20})
	c := d.dialOpen()
	_ = c // never read again
	s := sessions.next(t)
	chunk := Message{Data: bytes.Repeat([]byte("x"), 64<<10)}
	deadline := time.Now().Add(10 * time.Second)
	for s.Send(chunk) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the queue never filled")
		}
	}
	if cause := stWaitClosedSession(t, s); cause != ReasonSlowConsumer {
		t.Errorf("cause %v", cause)
	}
	// Shutdown (in cleanup) waits for the writer: it must have been unblocked.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestWebSocketBatchOrder queues a burst mixing small, large (over the cork
// limit) and binary messages: all arrive intact and in order.
// corkLimitTest is larger than the bytes the connection's writer gathers
// before writing them (internal/ws): such a message is written apart.
const corkLimitTest = 64 << 10

func TestWebSocketBatchOrder(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute})
	c := d.dialOpen()
	c.SetReadLimit(1 << 20)
	s := sessions.next(t)
	var msgs []Message
	for i := 0; i < 50; i++ {
		switch i % 5 {
		case 0:
			msgs = append(msgs, Message{Binary: true, Data: bytes.Repeat([]byte{byte(i)}, 10)})
		case 3:
			msgs = append(msgs, Message{Data: bytes.Repeat([]byte{'a' + byte(i%26)}, corkLimitTest+100)})
		default:
			msgs = append(msgs, Message{Data: []byte(strconv.Itoa(i))})
		}
	}
	if err := s.Send(msgs[:25]...); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(msgs[25:]...); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		typ, got := stRead(t, c)
		want := "4" + string(m.Data)
		if m.Binary {
			want = string(m.Data)
		}
		if (typ == websocket.MessageBinary) != m.Binary || got != want {
			t.Fatalf("message %d: %v %d bytes, want %d bytes", i, typ, len(got), len(want))
		}
	}
}

func TestCanHijack(t *testing.T) {
	srv := NewServer(stEcho, nil)
	defer srv.Shutdown(context.Background())
	// Not hijackable: Accept answers with an error status, no 101.
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/engine.io/?EIO=4&transport=websocket", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	srv.ServeHTTP(rec, req)
	if rec.Code == http.StatusSwitchingProtocols || rec.Code < 400 {
		t.Errorf("status %d", rec.Code)
	}
	if srv.Len() != 0 {
		t.Errorf("a session was created")
	}
}
