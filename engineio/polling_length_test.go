package engineio

import (
	"bytes"
	"compress/gzip"
	"github.com/corvid-io/corvid/internal/ws"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestPollingContentLength checks that every poll answer, below and above
// net/http's 2 KiB chunking buffer and compressed or not, has a Content-Length
// and no chunked encoding, and that the connections stay open for the next
// request (one keep-alive connection serves all of them).
func TestPollingContentLength(t *testing.T) {
	for _, gz := range []bool{false, true} {
		sessions, handler := newSTSessions(nil)
		d := stStart(t, handler, stOptions())
		u, _ := url.Parse(d.hs.URL)
		p := dialRawPoller(t, u.Host, d.srv.opts.Path, gz)
		if p.res.length != len(p.res.body) || p.res.chunked {
			t.Fatalf("handshake: length %d, chunked %v, body %d bytes", p.res.length, p.res.chunked, len(p.res.body))
		}
		s := sessions.next(t)
		for _, n := range []int{1, 1022, 1023, 2000, 2045, 2046, 2047, 2048, 2049, 5000, 100000} {
			msg := lettersN(n)
			if err := s.Send(Message{Data: []byte(msg)}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.get.Write(p.getReq); err != nil {
				t.Fatal(err)
			}
			if err := readRawResponse(p.getR, &p.res); err != nil {
				t.Fatalf("gzip %v, %d bytes: %v", gz, n, err)
			}
			if p.res.status != 200 || p.res.chunked || p.res.length != len(p.res.body) {
				t.Fatalf("gzip %v, %d bytes: status %d, chunked %v, length %d for %d bytes",
					gz, n, p.res.status, p.res.chunked, p.res.length, len(p.res.body))
			}
			body := p.res.body
			if wantGzip := gz && n+1 >= 1024; p.res.gzip != wantGzip {
				t.Fatalf("gzip %v, %d bytes: compressed %v", gz, n, p.res.gzip)
			}
			if p.res.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if string(body) != "4"+msg {
				t.Fatalf("gzip %v, %d bytes: body of %d bytes", gz, n, len(body))
			}
		}
	}
}

// lettersN returns n pseudo-random letters: text that compresses only so far,
// so that a large body stays large compressed.
func lettersN(n int) string {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = 'a' + byte(x%26)
	}
	return string(b)
}

// TestPollingPostSizes posts single messages around the steps in which a
// body's buffer grows (growRead: one slice up to 2*ws.GrowMin, then fourfold
// steps) and up to MaxHTTPBufferSize, and checks that each arrives whole and
// that the keep-alive connection carries on.
func TestPollingPostSizes(t *testing.T) {
	d := stStart(t, stEcho, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute, MaxHTTPBufferSize: 1 << 20})
	u, _ := url.Parse(d.hs.URL)
	p := dialRawPoller(t, u.Host, d.srv.opts.Path, false)
	for _, n := range []int{1, 100, 2 * ws.GrowMin, 2*ws.GrowMin + 1, 4 * ws.GrowMin, 4*ws.GrowMin + 1, 64 << 10, 300000, 1 << 20} {
		payload := []byte("4" + lettersN(n-1))
		body, err := p.roundTrip(payload)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(body, payload) {
			t.Fatalf("%d bytes: echo of %d bytes", n, len(body))
		}
	}
}

// TestPollingSharedHeaderValues checks that the header values polling and
// CORS answers share between requests are not changed by an answer that
// appends to them (a compressed answer to an allow-list CORS request carries
// "Vary: Origin" and "Vary: Accept-Encoding"), and that the next answers still
// carry exactly their own values.
func TestPollingSharedHeaderValues(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute,
		CORS: &CORSOptions{Origins: []string{"https://a.example"}}})
	sid := d.handshake()
	s := sessions.next(t)
	hdr := http.Header{"Origin": {"https://a.example"}, "Accept-Encoding": {"gzip"}}
	for i := range 3 {
		if err := s.Send(Message{Data: []byte(lettersN(3000))}); err != nil {
			t.Fatal(err)
		}
		res := d.req("GET", d.poll(sid), "", hdr)
		if got := res.header.Values("Vary"); !slices.Equal(got, []string{"Origin", "Accept-Encoding"}) {
			t.Fatalf("poll %d: Vary %q", i, got)
		}
		if got := res.header.Get("Content-Encoding"); got != "gzip" {
			t.Fatalf("poll %d: Content-Encoding %q", i, got)
		}
		res = d.req("POST", d.poll(sid), "4x", http.Header{"Origin": {"https://a.example"}})
		if got := res.header.Values("Vary"); res.status != 200 || !slices.Equal(got, []string{"Origin"}) {
			t.Fatalf("post %d: %d, Vary %q", i, res.status, got)
		}
	}
	if hdrVaryOrigin[0] != "Origin" || hdrVaryAE[0] != "Accept-Encoding" {
		t.Errorf("shared values changed: %q %q", hdrVaryOrigin, hdrVaryAE)
	}
}
