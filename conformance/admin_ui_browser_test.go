package conformance

// The official admin UI (npm @socket.io/admin-ui's static files) in headless
// Chromium against our server instrumented by package admin: the dashboard
// lists our sockets and rooms, and its disconnect button disconnects a
// socket.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

func TestAdminUIChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dist := filepath.Join(testutil.RepoRoot(t), "conformance", "node_modules", "@socket.io", "admin-ui", "ui", "dist")
	if _, err := os.Stat(filepath.Join(dist, "index.html")); err != nil {
		t.Fatalf("the admin UI's files are missing (npm ci in conformance/): %v", err)
	}
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	rooms := admin.NewRoomEvents()
	engine := admin.NewEngineObserver()
	srv := socketio.NewServer(&socketio.ServerOptions{Logger: quietLog, Adapter: rooms.Wrap(nil),
		Engine: &engineio.ServerOptions{Observer: engine}})
	srv.OnConnection(func(s *socketio.Socket) {
		if room := s.Handshake().Query.Get("room"); room != "" {
			_ = s.Join(room)
		}
	})
	adm, err := admin.Instrument(srv, &admin.Options{Rooms: rooms, Engine: engine, Auth: func(u, p string) bool { return u == "admin" && p == "pw-for-test" }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/ui/", http.StripPrefix("/ui/", admin.UIHandler(dist)))
	ts := testutil.Serve(t, mux, func(ctx context.Context) error {
		_ = adm.Close()
		return srv.Shutdown(ctx)
	})

	// Two users in rooms of their own, one on each transport.
	connect := func(room, transport string, auth any, nsp string) *socketio.ClientSocket {
		o := &socketio.ClientOptions{}
		o.DisableReconnection = true
		o.Transports = []string{transport}
		o.Query = url.Values{"room": {room}}
		o.Auth = auth
		c, err := socketio.NewClientSocket(ts.URL+nsp, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Manager().Close() })
		return c
	}
	alpha := connect("room-alpha", "polling", nil, "/")
	beta := connect("room-beta", "websocket", nil, "/")
	alphaGone := make(chan socketio.DisconnectReason, 1)
	alpha.OnDisconnect(func(r socketio.DisconnectReason) { alphaGone <- r })
	for _, c := range []*socketio.ClientSocket{alpha, beta} {
		if err := c.Connect(ctx); err != nil {
			t.Fatal(err)
		}
	}
	alphaID, betaID := alpha.ID(), beta.ID()

	// Log in once as the UI would, to seed the UI with a session id rather
	// than type in its login form.
	login := connect("", "websocket", map[string]string{"username": "admin", "password": "pw-for-test"}, "/admin")
	session := make(chan string, 1)
	login.On("session", func(args socketio.Args, _ socketio.AckFunc) {
		var id string
		_ = args.Decode(0, &id)
		session <- id
	})
	if err := login.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	var sessionID string
	select {
	case sessionID = <-session:
	case <-ctx.Done():
		t.Fatal("no session id from the login")
	}
	login.Manager().Close()

	b := startChromium(t, ctx)
	p := openPage(t, ctx, b, "admin")
	// The UI's page links fonts from CDNs: the test talks to loopback only.
	if err := p.d.call(ctx, p.session, "Network.enable", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.d.call(ctx, p.session, "Network.setBlockedURLs", map[string]any{"urls": []string{"https://*", "*://fonts.googleapis.com/*", "*://cdn.jsdelivr.net/*"}}, nil); err != nil {
		t.Fatal(err)
	}
	navigate := func(u string) {
		t.Helper()
		if err := p.d.call(ctx, p.session, "Page.navigate", map[string]any{"url": u}, nil); err != nil {
			t.Fatal(err)
		}
	}
	navigate(ts.URL + "/ui/#/sockets/")
	p.waitTrue(ctx, `location.pathname === "/ui/" && document.readyState === "complete"`)
	seed, _ := json.Marshal(map[string]string{"server_url": ts.URL, "path": "/socket.io", "namespace": "/admin",
		"ws_only": "false", "parser": "default", "session_id": sessionID})
	p.must(ctx, `(() => { const s = `+string(seed)+`; for (const k in s) localStorage.setItem(k, s[k]); return true })()`, nil)
	// A new document: the UI reads its settings when it starts.
	if err := p.d.call(ctx, p.session, "Page.reload", map[string]any{"ignoreCache": true}, nil); err != nil {
		t.Fatal(err)
	}
	p.waitTrue(ctx, `document.querySelector("#app") && document.querySelector("#app").__vue__ && document.querySelector("#app").__vue__.$store.state.connection.serverUrl === `+jsString(ts.URL))

	text := func() string {
		var s string
		_ = p.eval(ctx, `document.body ? document.body.innerText : ""`, &s)
		return s
	}
	waitText := func(what string, want ...string) {
		t.Helper()
		for {
			s := text()
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(s, w)
			}
			if ok {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s: the page never showed %q; it shows:\n%s", what, want, s)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	waitText("sockets page", alphaID, betaID, "HTTP long-polling", "WebSocket")
	// The UI takes in the Engine.IO counts of server_stats (its dashboard's
	// bytes histogram).
	p.waitTrue(ctx, `["bytesIn", "bytesOut", "packetsIn", "packetsOut"].every((t) => document.querySelector("#app").__vue__.$store.state.main.aggregatedEvents.some((e) => e.type === t && e.count > 0))`)

	// The screenshot of the sockets page: a PNG of the viewport's size, not
	// blank, taken while the page lists both sockets.
	shot := screenshot(t, ctx, p)
	checkScreenshot(t, shot, 1280, 800)
	dir := os.Getenv("CORVID_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "admin-ui-sockets.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	p.must(ctx, `location.hash = "#/rooms/"`, nil)
	waitText("rooms page", "room-alpha", "room-beta")

	// The disconnect button of alpha's row on the sockets page.
	p.must(ctx, `location.hash = "#/sockets/"`, nil)
	waitText("sockets page again", alphaID, betaID)
	// The rows of the sockets table (the page being left may linger during
	// its transition).
	p.must(ctx, `window.socketRows = () => [...document.querySelectorAll("table")]
		.filter((tb) => tb.querySelector("thead") && tb.querySelector("thead").innerText.includes("IP address"))
		.flatMap((tb) => [...tb.querySelectorAll("tbody tr")]); true`, nil)
	var clicked bool
	p.must(ctx, `(() => {
		const row = socketRows().find((tr) => tr.innerText.includes(`+jsString(alphaID)+`));
		const btn = row && row.querySelector("button");
		if (!btn) return false;
		btn.click();
		return true;
	})()`, &clicked)
	if !clicked {
		t.Fatalf("no disconnect button in alpha's row; page:\n%s", text())
	}
	select {
	case r := <-alphaGone:
		if r != socketio.ReasonIOServerDisconnect {
			t.Fatalf("alpha disconnected with %q, want %q", r, socketio.ReasonIOServerDisconnect)
		}
	case <-ctx.Done():
		t.Fatal("the UI's disconnect did not disconnect the socket")
	}
	if !beta.Connected() {
		t.Fatal("the UI's disconnect of alpha disconnected beta")
	}
	// The dashboard drops its row (socket_disconnected) and keeps beta's.
	// (The click also reached the row, which opens the socket's page: back
	// to the list.)
	p.must(ctx, `location.hash = "#/sockets/"`, nil)
	p.waitTrue(ctx, `(() => {
		const rows = socketRows().map((tr) => tr.innerText);
		return !rows.some((r) => r.includes(`+jsString(alphaID)+`)) && rows.some((r) => r.includes(`+jsString(betaID)+`));
	})()`)
	// Its rooms go too (room_left), beta's stay.
	p.must(ctx, `location.hash = "#/rooms/"`, nil)
	p.waitTrue(ctx, `(() => {
		const t = document.body.innerText;
		return !t.includes("room-alpha") && t.includes("room-beta") && location.hash === "#/rooms/";
	})()`)
	_ = p.d.call(ctx, p.session, "Page.close", map[string]any{}, nil)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// openPage opens a blank 1280x800 page in b.
func openPage(t *testing.T, ctx context.Context, b *browser, name string) *page {
	t.Helper()
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	if err := b.d.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &tgt); err != nil {
		t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.d.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true}, &att); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, d: b.d, session: att.SessionID, name: name}
	if err := p.d.call(ctx, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// screenshot returns a PNG of p's viewport.
func screenshot(t *testing.T, ctx context.Context, p *page) []byte {
	t.Helper()
	// Headless Chromium renders only the page in front.
	if err := p.d.call(ctx, p.session, "Page.bringToFront", map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.d.call(ctx, p.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
