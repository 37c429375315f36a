package engineio

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestHandshakeURLsShared checks that handshakes with the same URL share one
// URL and query, and that any difference, user info or a long query gets a
// copy of its own.
func TestHandshakeURLsShared(t *testing.T) {
	var h handshakeURLs
	parse := func(s string) (*url.URL, url.Values) {
		u, err := url.ParseRequestURI(s)
		if err != nil {
			t.Fatal(err)
		}
		return u, parseQuery(u.RawQuery)
	}
	u1, q1 := parse("/engine.io/?EIO=4&transport=websocket")
	a, qa := h.share(u1, q1)
	if a == u1 || *a != *u1 || qa.Get("transport") != "websocket" {
		t.Fatalf("first handshake: got %v %v, want a copy of %v", a, qa, u1)
	}
	u2, q2 := parse("/engine.io/?EIO=4&transport=websocket")
	b, qb := h.share(u2, q2)
	if b != a {
		t.Fatalf("same URL: got a new URL %p, want the first one %p", b, a)
	}
	qb.Set("probe", "x") // shared: visible through the first handshake's query
	if qa.Get("probe") != "x" {
		t.Fatal("same URL: the query is not the first handshake's")
	}
	qb.Del("probe")

	u3, q3 := parse("/other/?EIO=4&transport=websocket")
	c, qc := h.share(u3, q3)
	if c == a || c.Path != "/other/" || qc.Get("EIO") != "4" {
		t.Fatalf("other path, same query: got %v, want its own copy", c)
	}

	u4, q4 := parse("/engine.io/?EIO=4&transport=websocket")
	u4.User = url.UserPassword("u", "p")
	d, _ := h.share(u4, q4)
	if d == u4 || d.User == u4.User || d.User.String() != "u:p" {
		t.Fatalf("user info: got %v, want a deep copy", d)
	}

	long := "/engine.io/?EIO=4&transport=websocket&pad=" + strings.Repeat("x", maxSharedQuery)
	u5, q5 := parse(long)
	e1, _ := h.share(u5, q5)
	u6, q6 := parse(long)
	e2, _ := h.share(u6, q6)
	if e1 == e2 || e1.String() != long {
		t.Fatalf("long query: got %p and %p (%v), want two copies", e1, e2, e1)
	}

	for i := range 2 * maxSharedURLs {
		u, q := parse("/engine.io/?EIO=4&n=" + strconv.Itoa(i))
		h.share(u, q)
	}
	if len(h.m) > maxSharedURLs {
		t.Fatalf("%d URLs remembered, want at most %d", len(h.m), maxSharedURLs)
	}
}
