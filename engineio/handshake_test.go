package engineio

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestHandshakeURLsShared checks that handshakes with the same URL share one
// URL and query, and that any difference, user info or a long query gets a
// copy of its own.
func TestHandshakeURLsShared(t *testing.T) {
	var h handshakeShare
	parse := func(s string) *url.URL {
		u, err := url.ParseRequestURI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	u1 := parse("/engine.io/?EIO=4&transport=websocket")
	eu1 := h.url(u1)
	a, qa := eu1.u, eu1.q
	if a == u1 || *a != *u1 || qa.Get("transport") != "websocket" {
		t.Fatalf("first handshake: got %v %v, want a copy of %v", a, qa, u1)
	}
	u2 := parse("/engine.io/?EIO=4&transport=websocket")
	eu2 := h.url(u2)
	b, qb := eu2.u, eu2.q
	if b != a {
		t.Fatalf("same URL: got a new URL %p, want the first one %p", b, a)
	}
	if eu2.uri != "/engine.io/?EIO=4&transport=websocket" || unsafe.StringData(eu2.uri) != unsafe.StringData(eu1.uri) {
		t.Fatalf("same URL: request URI %q, want the first handshake's string", eu2.uri)
	}
	qb.Set("probe", "x") // shared: visible through the first handshake's query
	if qa.Get("probe") != "x" {
		t.Fatal("same URL: the query is not the first handshake's")
	}
	qb.Del("probe")

	u3 := parse("/other/?EIO=4&transport=websocket")
	eu3 := h.url(u3)
	c, qc := eu3.u, eu3.q
	if c == a || c.Path != "/other/" || qc.Get("EIO") != "4" {
		t.Fatalf("other path, same query: got %v, want its own copy", c)
	}

	u4 := parse("/engine.io/?EIO=4&transport=websocket")
	u4.User = url.UserPassword("u", "p")
	d := h.url(u4).u
	if d == u4 || d.User == u4.User || d.User.String() != "u:p" {
		t.Fatalf("user info: got %v, want a deep copy", d)
	}

	long := "/engine.io/?EIO=4&transport=websocket&pad=" + strings.Repeat("x", maxSharedQuery)
	u5 := parse(long)
	eu5 := h.url(u5)
	e1, _ := eu5.u, eu5.q
	u6 := parse(long)
	eu6 := h.url(u6)
	e2, _ := eu6.u, eu6.q
	if e1 == e2 || e1.String() != long {
		t.Fatalf("long query: got %p and %p (%v), want two copies", e1, e2, e1)
	}

	for i := range 2 * maxSharedURLs {
		h.url(parse("/engine.io/?EIO=4&n=" + strconv.Itoa(i)))
	}
	if len(h.urls) > maxSharedURLs {
		t.Fatalf("%d URLs remembered, want at most %d", len(h.urls), maxSharedURLs)
	}
}

// TestHandshakeHeaderShared checks that the header kept for a session reads
// as a copy of the request's (Header.Clone), that names and values repeated
// across handshakes are one string, and that Sec-WebSocket-Key is not remembered.
func TestHandshakeHeaderShared(t *testing.T) {
	var h handshakeShare
	req := func(key string) http.Header {
		return http.Header{
			"Upgrade":               {"websocket"},
			"X-Many":                {"a", "b", strings.Repeat("l", maxSharedString+1)},
			"X-Nil":                 nil,
			"Sec-Websocket-Key":     {key},
			"Sec-Websocket-Version": {"13"},
		}
	}
	r1, r2 := req("a2V5LW9uZQ=="), req("a2V5LXR3bw==")
	h1, h2 := h.header(r1, ""), h.header(r2, "")
	if !reflect.DeepEqual(h1, r1.Clone()) || !reflect.DeepEqual(h2, r2.Clone()) {
		t.Fatalf("got %v and %v, want copies of %v and %v", h1, h2, r1, r2)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	if !same(h1.Get("Upgrade"), h2.Get("Upgrade")) || !same(h1["X-Many"][1], h2["X-Many"][1]) {
		t.Error("repeated values are not shared")
	}
	if same(h1["X-Many"][2], h2["X-Many"][2]) {
		t.Error("a value over maxSharedString is shared")
	}
	if len(h.strs) > 0 {
		for s := range h.strs {
			if strings.HasPrefix(s, "a2V5") {
				t.Errorf("Sec-WebSocket-Key %q is remembered", s)
			}
		}
	}
	h1.Add("X-Many", "c") // the copies are distinct slices
	if len(h2["X-Many"]) != 3 || len(r1["X-Many"]) != 3 {
		t.Error("adding to one copy changed another")
	}
	if h.header(nil, "") != nil {
		t.Error("nil header: want nil")
	}
	if got := h.header(http.Header{"Accept": {"*/*"}}, "example.com:80"); !reflect.DeepEqual(got,
		http.Header{"Accept": {"*/*"}, "Host": {"example.com:80"}}) {
		t.Errorf("with the host: %v", got)
	}
}

// TestHandshakeHeaderLimit: a handshake whose URL and headers exceed
// MaxHandshakeHeaderBytes (16 KiB by default, Node's maxHeaderSize) gets
// Node's answer, 431 with "Connection: close", on both transports, and no
// session; under the limit, or under a larger one, it opens one.
func TestHandshakeHeaderLimit(t *testing.T) {
	big := http.Header{"X-Big": {strings.Repeat("b", 16<<10)}}
	small := http.Header{"X-Big": {strings.Repeat("b", 15<<10)}}
	d := stStart(t, stEcho, stOptions())
	u, _ := url.Parse(d.hs.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET "+d.srv.opts.Path+"?EIO=4&transport=polling HTTP/1.1\r\nHost: "+u.Host+
		"\r\nX-Big: "+big.Get("X-Big")+"\r\n\r\n")
	raw, _ := io.ReadAll(c) // to the end: the server closes the connection
	if !strings.HasPrefix(string(raw), "HTTP/1.1 431 Request Header Fields Too Large\r\n") ||
		!strings.Contains(string(raw), "\r\nConnection: close\r\n") || !strings.HasSuffix(string(raw), "\r\n\r\n") {
		t.Fatalf("polling: %q", raw)
	}
	ws := http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "X-Big": big["X-Big"]}
	if r := d.req("GET", "EIO=4&transport=websocket", "", ws); r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("websocket: %d %q", r.status, r.body)
	}
	if n := d.srv.Len(); n != 0 {
		t.Fatalf("%d sessions", n)
	}
	if r := d.req("GET", "EIO=4&transport=polling", "", small); r.status != http.StatusOK {
		t.Fatalf("under the limit: %d %q", r.status, r.body)
	}
	opts := stOptions()
	opts.MaxHandshakeHeaderBytes = 32 << 10
	d2 := stStart(t, stEcho, opts)
	if r := d2.req("GET", "EIO=4&transport=polling", "", big); r.status != http.StatusOK {
		t.Fatalf("under a larger limit: %d %q", r.status, r.body)
	}
}

// TestHandshakeHostAndIP: the session's handshake headers hold the Host
// (as Node's do), and RemoteIP is the client's address without its port.
func TestHandshakeHostAndIP(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, stOptions())
	d.handshake()
	h := sessions.next(t).Handshake()
	u, _ := url.Parse(d.hs.URL)
	if got := h.Header.Get("Host"); got != u.Host {
		t.Errorf("Host header %q, want %q", got, u.Host)
	}
	if h.RemoteIP != "127.0.0.1" || !strings.HasPrefix(h.RemoteAddr, "127.0.0.1:") {
		t.Errorf("RemoteIP %q, RemoteAddr %q", h.RemoteIP, h.RemoteAddr)
	}
	for addr, want := range map[string]string{"[::1]:5000": "::1", "10.0.0.1:80": "10.0.0.1", "pipe": "pipe"} {
		if got := remoteIP(addr); got != want {
			t.Errorf("remoteIP(%q) = %q, want %q", addr, got, want)
		}
	}
}
