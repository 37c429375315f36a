package conformance

// A real browser (Debian's Chromium, headless) through the demo chat page of
// cmd/server, driven over the Chrome DevTools protocol: two pages exchange
// room, direct, broadcast and binary messages over polling and websocket,
// and reconnect (and authenticate again) after the server restarts. The
// page gets the users online pushed by the server (no polling), shows each
// message's time, tells its own messages apart and hides the login form once
// logged in.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/corvid-io/corvid/internal/testutil"
)

const chromiumPath = "/usr/bin/chromium"

// chatServer is the cmd/server binary, restartable on the same address.
type chatServer struct {
	t    *testing.T
	bin  string
	addr string
	args []string // more flags

	cmd  *exec.Cmd
	done chan struct{}
}

func buildChatServer(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "corvid-chat")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/server")
	cmd.Dir = testutil.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/server: %v\n%s", err, out)
	}
	return bin
}

// start runs the server and waits for its "listening on" line.
func (s *chatServer) start() {
	t := s.t
	t.Helper()
	cmd := exec.Command(s.bin, append([]string{"-addr", s.addr}, s.args...)...)
	cmd.Dir = testutil.RepoRoot(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				once.Do(func() { close(ready) })
			}
		}
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	select {
	case <-ready:
	case <-done:
		t.Fatal("chat server exited before listening")
	case <-time.After(60 * time.Second):
		t.Fatal("chat server not listening after 60s")
	}
}

// stop ends the server gracefully (SIGTERM), as a restart would.
func (s *chatServer) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// cdp is a minimal Chrome DevTools protocol client over the browser's
// websocket, with flattened sessions for pages.
type cdp struct {
	c    *websocket.Conn
	mu   sync.Mutex
	next int64
	wait map[int64]chan cdpReply
	done chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func dialCDP(ctx context.Context, url string) (*cdp, error) {
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	d := &cdp{c: c, wait: map[int64]chan cdpReply{}, done: make(chan struct{})}
	go d.readLoop()
	return d, nil
}

func (d *cdp) readLoop() {
	defer close(d.done)
	for {
		_, b, err := d.c.Read(context.Background())
		if err != nil {
			d.mu.Lock()
			for id, ch := range d.wait {
				close(ch)
				delete(d.wait, id)
			}
			d.mu.Unlock()
			return
		}
		var m struct {
			ID int64 `json:"id"`
			cdpReply
		}
		if json.Unmarshal(b, &m) != nil || m.ID == 0 {
			continue // events
		}
		d.mu.Lock()
		ch := d.wait[m.ID]
		delete(d.wait, m.ID)
		d.mu.Unlock()
		if ch != nil {
			ch <- m.cdpReply
		}
	}
}

func (d *cdp) close() {
	d.c.Close(websocket.StatusNormalClosure, "")
	<-d.done
}

func (d *cdp) call(ctx context.Context, session, method string, params, out any) error {
	d.mu.Lock()
	d.next++
	id := d.next
	ch := make(chan cdpReply, 1)
	d.wait[id] = ch
	d.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if err := d.c.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return errors.New("cdp: connection closed")
		}
		if r.Error != nil {
			return fmt.Errorf("cdp %s: %s", method, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-ctx.Done():
		d.mu.Lock()
		delete(d.wait, id)
		d.mu.Unlock()
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

type page struct {
	t       *testing.T
	d       *cdp
	session string
	name    string
}

func (b *browser) newPage(t *testing.T, ctx context.Context, name, url string) *page {
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
	if err := p.d.call(ctx, p.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 800, "height": 600, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.d.call(ctx, p.session, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		t.Fatal(err)
	}
	p.waitTrue(ctx, `typeof window.chat === "object" && typeof io === "function"`)
	return p
}

// eval runs expr (awaiting a promise) and decodes its value into out.
func (p *page) eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.d.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r)
	if err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("%s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

func (p *page) must(ctx context.Context, expr string, out any) {
	p.t.Helper()
	if err := p.eval(ctx, expr, out); err != nil {
		p.t.Fatalf("page %s: %v", p.name, err)
	}
}

func (p *page) waitTrue(ctx context.Context, expr string) {
	p.t.Helper()
	for {
		var ok bool
		err := p.eval(ctx, "!!("+expr+")", &ok)
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("page %s: %s never true (last error %v)", p.name, expr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitText waits until the page's message log contains s.
func (p *page) waitText(ctx context.Context, s string) {
	p.t.Helper()
	for {
		var text string
		if err := p.eval(ctx, "chat.text()", &text); err == nil && strings.Contains(text, s) {
			return
		}
		select {
		case <-ctx.Done():
			p.t.Fatalf("page %s: log never showed %q; log:\n%s", p.name, s, text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type chatInfo struct {
	State     string `json:"state"`
	Auths     int    `json:"auths"`
	Transport string `json:"transport"`
}

func (p *page) info(ctx context.Context) chatInfo {
	p.t.Helper()
	var ci chatInfo
	p.must(ctx, "chat.info()", &ci)
	return ci
}

type browser struct {
	d *cdp
}

// startChromium runs headless Chromium with a DevTools port chosen by the
// browser (read back from DevToolsActivePort) and connects to it.
func startChromium(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	chromium := chromiumPath
	if _, err := os.Stat(chromium); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			t.Fatalf("Chromium is required for the browser test: %s is missing and no chromium is on PATH (scripts/test.sh installs it: apt-get install chromium): %v", chromiumPath, err)
		}
		chromium = p
	}
	dir := t.TempDir()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		// Keep the page that is not in front running at full speed.
		"--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows",
		"--user-data-dir="+dir, "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	var wsURL string
	for wsURL == "" {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) == 2 {
				wsURL = "ws://127.0.0.1:" + lines[0] + lines[1]
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("chromium exited: %s", stderr.String())
		case <-ctx.Done():
			t.Fatalf("chromium DevTools port not ready: %s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	d, err := dialCDP(ctx, wsURL)
	if err != nil {
		t.Fatalf("dial DevTools %s: %v", wsURL, err)
	}
	t.Cleanup(d.close)
	return &browser{d: d}
}

func TestBrowserChat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin := buildChatServer(t)
	srv := &chatServer{t: t, bin: bin, addr: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))}
	srv.start()
	t.Cleanup(srv.stop)
	base := "http://" + srv.addr
	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]any
	json.NewDecoder(res.Body).Decode(&health)
	res.Body.Close()
	if health["status"] != "ok" {
		t.Fatalf("healthz %v", health)
	}

	b := startChromium(t, ctx)
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			alice := b.newPage(t, ctx, "alice", base+"/?transport="+tr)
			bob := b.newPage(t, ctx, "bob", base+"/?transport="+tr)
			alice.must(ctx, `chat.login("alice")`, nil)
			bob.must(ctx, `chat.login("bob")`, nil)
			for _, p := range []*page{alice, bob} {
				if ci := p.info(ctx); ci.State != "authenticated" || ci.Transport != tr {
					t.Fatalf("page %s: %+v, want authenticated over %s", p.name, ci, tr)
				}
			}

			// Presence is pushed: both pages list both users.
			for _, p := range []*page{alice, bob} {
				p.waitTrue(ctx, `chat.info().presence > 0 && JSON.stringify(chat.users()) === '["alice","bob"]'`)
				var shown bool
				p.must(ctx, `chat.loginShown()`, &shown)
				if shown {
					t.Fatalf("page %s: login form still shown once logged in", p.name)
				}
			}

			alice.must(ctx, `chat.say("lobby", "hello from alice over `+tr+`")`, nil)
			bob.waitText(ctx, "[lobby] alice: hello from alice over "+tr)
			alice.waitText(ctx, "[lobby] alice: hello from alice over "+tr)
			// Each message shows its time; the sender's page marks it as its own.
			for _, p := range []*page{alice, bob} {
				var lines []struct {
					Time string `json:"time"`
					Text string `json:"text"`
					Own  bool   `json:"own"`
				}
				p.must(ctx, `chat.lines()`, &lines)
				found := false
				for _, l := range lines {
					if l.Text != "[lobby] alice: hello from alice over "+tr {
						continue
					}
					found = true
					if _, err := time.Parse("15:04:05", l.Time); err != nil {
						t.Fatalf("page %s: message time %q: %v", p.name, l.Time, err)
					}
					if l.Own != (p == alice) {
						t.Fatalf("page %s: own = %v for alice's message", p.name, l.Own)
					}
				}
				if !found {
					t.Fatalf("page %s: message not in %+v", p.name, lines)
				}
			}
			bob.must(ctx, `chat.dm("alice", "psst alice")`, nil)
			alice.waitText(ctx, "[dm] bob → alice: psst alice")
			bob.must(ctx, `chat.announce("hi all")`, nil)
			alice.waitText(ctx, "[all] bob: hi all")

			// Binary: 300 bytes with every byte value.
			data := make([]int, 300)
			sum := 0
			for i := range data {
				data[i] = (i * 7) % 256
				sum += data[i]
			}
			js, _ := json.Marshal(data)
			alice.must(ctx, `chat.sendFile("lobby", "blob.bin", `+string(js)+`)`, nil)
			bob.waitText(ctx, fmt.Sprintf("[lobby] alice sent blob.bin (300 bytes, sum %d)", sum%65536))

			// A message to a room bob is not in is refused by the server.
			var errText string
			bob.must(ctx, `chat.say("secret", "x").then(() => "", (e) => e.message)`, &errText)
			if errText == "" {
				t.Fatal("bob could write to a room he did not join")
			}

			// Screenshot of alice's page: the expected size, not blank, the
			// header's colour at its place.
			var shot struct {
				Data string `json:"data"`
			}
			// Headless Chromium renders only the page in front.
			if err := alice.d.call(ctx, alice.session, "Page.bringToFront", map[string]any{}, nil); err != nil {
				t.Fatal(err)
			}
			if err := alice.d.call(ctx, alice.session, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(shot.Data)
			if err != nil {
				t.Fatal(err)
			}
			img := checkScreenshot(t, raw, 800, 600)
			if r, g, bl, _ := img.At(4, 4).RGBA(); r>>8 != 0x23 || g>>8 != 0x30 || bl>>8 != 0x4a {
				t.Fatalf("header pixel %02x%02x%02x, want 23304a", r>>8, g>>8, bl>>8)
			}
			if dir := os.Getenv("CORVID_SCREENSHOT_DIR"); dir != "" {
				os.WriteFile(filepath.Join(dir, "chat-"+tr+".png"), raw, 0o644)
			}

			// The server restarts: both pages reconnect, authenticate again
			// and talk through the new process.
			srv.stop()
			alice.waitText(ctx, "disconnected: ")
			srv.start()
			for _, p := range []*page{alice, bob} {
				p.waitTrue(ctx, `chat.info().auths >= 2 && chat.info().state === "authenticated"`)
			}
			alice.must(ctx, `chat.say("lobby", "back after restart")`, nil)
			bob.waitText(ctx, "[lobby] alice: back after restart")

			// bob logs out: alice's list follows without her asking, and
			// bob's page shows the login form again.
			bob.must(ctx, `chat.logout()`, nil)
			alice.waitTrue(ctx, `JSON.stringify(chat.users()) === '["alice"]'`)
			bob.waitTrue(ctx, `chat.loginShown()`)
			for _, p := range []*page{alice, bob} {
				var tgt struct{}
				p.d.call(ctx, p.session, "Page.close", map[string]any{}, &tgt)
			}
		})
	}

	// Two nodes on Redis: a page on each, messages cross between them.
	t.Run("redis", func(t *testing.T) {
		rs := testutil.StartRedis(t)
		var bases []string
		for range 2 {
			n := &chatServer{t: t, bin: bin, addr: "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), args: []string{"-redis", rs.URL()}}
			n.start()
			t.Cleanup(n.stop)
			bases = append(bases, "http://"+n.addr)
		}
		alice := b.newPage(t, ctx, "alice", bases[0]+"/")
		bob := b.newPage(t, ctx, "bob", bases[1]+"/")
		alice.must(ctx, `chat.login("alice")`, nil)
		bob.must(ctx, `chat.login("bob")`, nil)
		alice.must(ctx, `chat.say("lobby", "from node one")`, nil)
		bob.waitText(ctx, "[lobby] alice: from node one")
		bob.must(ctx, `chat.dm("alice", "from node two")`, nil)
		alice.waitText(ctx, "[dm] bob → alice: from node two")
		bob.must(ctx, `chat.sendFile("lobby", "b.bin", [1, 2, 3, 250])`, nil)
		alice.waitText(ctx, "[lobby] bob sent b.bin (4 bytes, sum 256)")
		for _, p := range []*page{alice, bob} {
			p.d.call(ctx, p.session, "Page.close", map[string]any{}, nil)
		}
	})
}

// checkScreenshot decodes shot and checks that it is a PNG of w x h pixels
// that is not blank (at least 20 colours on a 4-pixel grid).
func checkScreenshot(t *testing.T, shot []byte, w, h int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if sz := img.Bounds().Size(); sz.X != w || sz.Y != h {
		t.Fatalf("screenshot %v, want %dx%d", sz, w, h)
	}
	colors := map[uint32]bool{}
	for y := 0; y < h; y += 4 {
		for x := 0; x < w; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colors) < 20 {
		t.Fatalf("screenshot looks blank: %d colours", len(colors))
	}
	return img
}
