package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// TestEIOBadInputDifferential sends the same bad requests to npm engine.io 6.6
// (conformance/node/eio_server.js) and to our server, and requires the same
// answers: status, content type and body of each response, and whether the
// session survives.
func TestEIOBadInputDifferential(t *testing.T) {
	const maxPayload = 1000
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port),
		fmt.Sprintf(`{"pingInterval":60000,"pingTimeout":60000,"maxHttpBufferSize":%d}`, maxPayload))
	node.WaitLine(t, "listening", 10*time.Second)
	ref := "http://127.0.0.1:" + strconv.Itoa(port) + "/engine.io/"

	d := startEIO(t, eioEchoHandler, &engineio.ServerOptions{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxHTTPBufferSize: maxPayload,
	})
	ours := d.base

	scripts := []struct {
		name string
		run  func(t *testing.T, base string) []string
	}{
		{"handshake errors", func(t *testing.T, base string) []string {
			var out []string
			for _, r := range []struct{ method, query string }{
				{"GET", ""}, {"GET", "EIO=4"}, {"GET", "EIO=4&transport=abc"},
				{"GET", "transport=polling"}, {"GET", "EIO=abc&transport=polling"},
				{"GET", "EIO=5&transport=polling"}, {"POST", "EIO=4&transport=polling"},
				{"PUT", "EIO=4&transport=polling"}, {"GET", "EIO=4&transport=websocket"},
				{"GET", "EIO=4&transport=polling&sid=unknown"},
				{"POST", "EIO=4&transport=polling&sid=unknown"},
			} {
				out = append(out, r.method+" "+r.query+" -> "+diffReq(t, r.method, base+"?"+r.query, "", nil))
			}
			return out
		}},
		{"requests naming a session", func(t *testing.T, base string) []string {
			sid := diffHandshake(t, base)
			q := base + "?EIO=4&transport=polling&sid=" + sid
			return []string{
				"PUT -> " + diffReq(t, "PUT", q, "", nil),
				"EIO=3 -> " + diffReq(t, "GET", base+"?EIO=3&transport=polling&sid="+sid, "", nil),
				"websocket GET -> " + diffReq(t, "GET", base+"?EIO=4&transport=websocket&sid="+sid, "", nil),
				"oversize POST -> " + diffReq(t, "POST", q, "4"+strings.Repeat("x", maxPayload), nil),
				"POST -> " + diffReq(t, "POST", q, "4fine", nil),
				"GET -> " + diffReq(t, "GET", q, "", nil),
			}
		}},
		{"malformed payloads", func(t *testing.T, base string) []string {
			var out []string
			for _, body := range []string{"", "abc", "9", "4a\x1e", "4a\x1e\x1e4b", "bAQID\x1e4x\x1e$"} {
				sid := diffHandshake(t, base)
				q := base + "?EIO=4&transport=polling&sid=" + sid
				out = append(out, fmt.Sprintf("POST %q -> %s; then GET -> %s", body,
					diffReq(t, "POST", q, body, nil), diffReq(t, "GET", q, "", nil)))
			}
			return out
		}},
		{"binary content type", func(t *testing.T, base string) []string {
			sid := diffHandshake(t, base)
			q := base + "?EIO=4&transport=polling&sid=" + sid
			return []string{
				"POST -> " + diffReq(t, "POST", q, "4x", http.Header{"Content-Type": {"application/octet-stream"}}),
				"GET -> " + diffReq(t, "GET", q, "", nil),
			}
		}},
		{"client close", func(t *testing.T, base string) []string {
			sid := diffHandshake(t, base)
			q := base + "?EIO=4&transport=polling&sid=" + sid
			return []string{
				"POST 1 -> " + diffReq(t, "POST", q, "1", nil),
				"GET -> " + diffReq(t, "GET", q, "", nil),
			}
		}},
		{"websocket errors", func(t *testing.T, base string) []string {
			var out []string
			for _, q := range []string{"EIO=4&transport=websocket&sid=unknown", "EIO=3&transport=websocket", "EIO=4&transport=abc", "transport=websocket"} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"?"+q, nil)
				cancel()
				switch {
				case err == nil:
					// The reference completes the handshake before checking EIO, then
					// drops the connection.
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					_, _, err := c.Read(ctx)
					closed := err != nil && ctx.Err() == nil
					cancel()
					c.CloseNow()
					out = append(out, fmt.Sprintf("%s -> accepted, then closed: %v", q, closed))
				case res == nil:
					out = append(out, q+" -> no response")
				default:
					b, _ := io.ReadAll(res.Body)
					out = append(out, fmt.Sprintf("%s -> %d %q", q, res.StatusCode, b))
				}
			}
			return out
		}},
		{"websocket handshake refusals", func(t *testing.T, base string) []string {
			const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			const version = "Sec-WebSocket-Version: 13\r\n"
			const upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
			var out []string
			for _, c := range []struct{ name, method, headers string }{
				{"POST", "POST", upgrade + version + key + "Content-Length: 0\r\n"},
				{"version 12", "GET", upgrade + "Sec-WebSocket-Version: 12\r\n" + key},
				{"no version", "GET", upgrade + key},
				{"no key", "GET", upgrade + version},
				{"short key", "GET", upgrade + version + "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n"},
				{"no key, no version", "GET", upgrade},
				{"Upgrade: h2c", "GET", "Connection: Upgrade\r\nUpgrade: h2c\r\n" + version + key},
			} {
				out = append(out, c.name+" -> "+rawExchange(t, base, c.method, "EIO=4&transport=websocket", c.headers))
			}
			return out
		}},
	}
	// Deliberate differences, each with its reason.
	deviations := map[string]string{
		// The reference completes a WebSocket handshake before checking EIO and
		// then drops the connection; we refuse it with the same 400 as for polling.
		"EIO=3&transport=websocket -> 400 \"Unsupported protocol version\"": "EIO=3&transport=websocket -> accepted, then closed: true",
		"transport=websocket -> 400 \"Unsupported protocol version\"":       "transport=websocket -> accepted, then closed: true",
	}
	for _, s := range scripts {
		t.Run(s.name, func(t *testing.T) {
			want := s.run(t, ref)
			got := s.run(t, ours)
			if len(got) != len(want) {
				t.Fatalf("got %d answers, want %d", len(got), len(want))
			}
			for i := range want {
				if ref, ok := deviations[got[i]]; ok && ref == want[i] {
					continue
				}
				if got[i] != want[i] {
					t.Errorf("ours:      %s\nreference: %s", got[i], want[i])
				}
			}
		})
	}
	// The server kept serving.
	sid := d.handshake()
	d.post("EIO=4&transport=polling&sid="+sid, "4alive")
	if _, body := d.get("EIO=4&transport=polling&sid=" + sid); body != "4alive" {
		t.Errorf("after the bad input: %q", body)
	}
}

// rawExchange sends one request with exactly the given header lines over a
// new connection and describes the answer: status, content type, Connection,
// Sec-WebSocket-Version and body.
func rawExchange(t *testing.T, base, method, query, headers string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := method + " " + u.Path + "?" + query + " HTTP/1.1\r\nHost: " + u.Host + "\r\n" + headers + "\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, query, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %q close=%v version=%q %q", res.StatusCode, res.Header.Get("Content-Type"), res.Close,
		res.Header.Get("Sec-WebSocket-Version"), b)
}

// diffReq performs one request and describes the answer: status, content type
// and body.
func diffReq(t *testing.T, method, url, body string, header http.Header) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" && body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %q %q", res.StatusCode, res.Header.Get("Content-Type"), b)
}

func diffHandshake(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var open struct{ Sid string }
	if len(b) < 2 || json.Unmarshal(b[1:], &open) != nil || open.Sid == "" {
		t.Fatalf("handshake: %d %q", res.StatusCode, b)
	}
	return open.Sid
}
