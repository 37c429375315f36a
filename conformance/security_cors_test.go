package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
)

// TestSecurityCVE2020_28481_CORS: the permissive default CORS of old socket.io
// (CVE-2020-28481: every origin allowed, with credentials). By default no
// origin is granted CORS access, and a cross-origin WebSocket, new or
// upgrading a polling session, is refused; with a list, only the listed
// origins get Access-Control-Allow-Origin (the credentials header is only of
// use with it), on both transports. The polling headers are compared with npm
// socket.io 4.8 under the same settings. (The reference does not check the
// Origin of WebSocket requests at all; refusing the cross-origin ones is our
// deliberate, stricter default.)
func TestSecurityCVE2020_28481_CORS(t *testing.T) {
	const good, evil = "https://good.example", "https://evil.example"
	for _, c := range []struct {
		name string
		node string
		cors *engineio.CORSOptions
	}{
		{"default", "", nil},
		{"list with credentials", `{"cors":{"origin":["` + good + `"],"credentials":true}}`,
			&engineio.CORSOptions{Origins: []string{good}, Credentials: true}},
		{"function", `{"cors":{"origin":["` + good + `"]}}`,
			&engineio.CORSOptions{AllowOrigin: func(o string) bool { return o == good }}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref, _ := startRefSIO(t, c.node)
			ours := startSIO(t, secSIOServer(&engineio.ServerOptions{CORS: c.cors})).base
			for _, r := range []struct {
				method string
				header http.Header
			}{
				{"GET", http.Header{"Origin": {good}}},
				{"GET", http.Header{"Origin": {evil}}},
				{"GET", http.Header{"Origin": {"null"}}},
				{"GET", nil},
				{"OPTIONS", http.Header{"Origin": {evil}, "Access-Control-Request-Method": {"POST"}}},
				{"OPTIONS", http.Header{"Origin": {good}, "Access-Control-Request-Method": {"POST"}}},
			} {
				want := corsAnswer(t, r.method, ref, r.header)
				got := corsAnswer(t, r.method, ours, r.header)
				if got != want {
					t.Errorf("%s %v:\nours:      %s\nreference: %s", r.method, r.header, got, want)
				}
				if o := r.header.Get("Origin"); o != "" && o != good && strings.Contains(got, "Access-Control-Allow-Origin=\""+o) {
					t.Errorf("%s from %s granted: %s", r.method, o, got)
				}
				if c.cors == nil && strings.Contains(got, "Access-Control-Allow-") {
					t.Errorf("default CORS headers: %s", got)
				}
			}
			host := strings.TrimSuffix(strings.TrimPrefix(ours, "http://"), "/socket.io/")
			for _, w := range []struct {
				origin string
				want   bool
			}{
				{"", true},
				{"http://" + host, true},
				{good, c.cors != nil},
				{evil, false},
				{"null", false},
			} {
				if got := secWSAllowed(t, ours, "", w.origin); got != w.want {
					t.Errorf("new WebSocket from %q accepted: %v, want %v", w.origin, got, w.want)
				}
				sid := diffHandshake(t, ours)
				if got := secWSAllowed(t, ours, sid, w.origin); got != w.want {
					t.Errorf("upgrade from %q accepted: %v, want %v", w.origin, got, w.want)
				}
			}
		})
	}
}

// secWSAllowed reports whether a WebSocket with the given Origin (none when
// empty) is accepted, upgrading sid when set.
func secWSAllowed(t *testing.T, base, sid, origin string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := "?EIO=4&transport=websocket"
	if sid != "" {
		q += "&sid=" + sid
	}
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+q, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if res == nil {
			t.Fatalf("dial: %v", err)
		}
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("refused with %d, want 403", res.StatusCode)
		}
		return false
	}
	c.CloseNow()
	return true
}
