package conformance

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// TestEIOCORSDifferential compares the CORS headers of npm engine.io 6.6 (which
// uses the npm cors package) with ours, for the same settings and requests.
func TestEIOCORSDifferential(t *testing.T) {
	configs := []struct {
		name string
		node string
		ours *engineio.CORSOptions
	}{
		{"wildcard", `{"cors":{"origin":"*"}}`, &engineio.CORSOptions{Origins: []string{"*"}}},
		{"list with credentials", `{"cors":{"origin":["https://a.example"],"credentials":true}}`,
			&engineio.CORSOptions{Origins: []string{"https://a.example"}, Credentials: true}},
		{"none", `{}`, nil},
	}
	requests := []struct {
		method string
		header http.Header
	}{
		{"GET", http.Header{"Origin": {"https://a.example"}}},
		{"GET", http.Header{"Origin": {"https://b.example"}}},
		{"GET", nil},
		{"OPTIONS", http.Header{"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"POST"},
			"Access-Control-Request-Headers": {"content-type,x-custom"}}},
		{"OPTIONS", http.Header{"Origin": {"https://b.example"}, "Access-Control-Request-Method": {"GET"}}},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			port := testutil.FreePort(t)
			node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port), c.node)
			node.WaitLine(t, "listening", 10*time.Second)
			ref := "http://127.0.0.1:" + strconv.Itoa(port) + "/engine.io/"
			d := startEIO(t, eioEchoHandler, &engineio.ServerOptions{CORS: c.ours})
			for _, r := range requests {
				want := corsAnswer(t, r.method, ref, r.header)
				got := corsAnswer(t, r.method, d.base, r.header)
				if got != want {
					t.Errorf("%s %v:\nours:      %s\nreference: %s", r.method, r.header, got, want)
				}
			}
		})
	}
}

// corsAnswer describes the status and CORS headers of a handshake request.
func corsAnswer(t *testing.T, method, base string, header http.Header) string {
	t.Helper()
	req, err := http.NewRequest(method, base+"?EIO=4&transport=polling", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%d", res.StatusCode)
	for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age",
		"Access-Control-Expose-Headers", "Vary"} {
		if v := res.Header.Values(k); len(v) > 0 {
			fmt.Fprintf(&b, " %s=%q", k, strings.Join(v, ", "))
		}
	}
	return b.String()
}
