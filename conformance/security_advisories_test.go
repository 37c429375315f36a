package conformance

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// Regression tests for the classes of the past Engine.IO and Socket.IO security
// advisories. Each sends the hostile input to npm engine.io 6.6 / socket.io 4.8
// and to our server, requires the same observable answer (status and body, or
// the packets received and whether the connection survives), and then checks
// that the server still serves a fresh client.

const secMaxPayload = 1000

// secSIOServer is sioSuiteServer with long heartbeats (the transcripts must not
// contain pings) and a small maxHttpBufferSize.
func secSIOServer(engine *engineio.ServerOptions) *socketio.Server {
	if engine == nil {
		engine = &engineio.ServerOptions{}
	}
	engine.PingInterval, engine.PingTimeout = time.Minute, time.Minute
	if engine.MaxHTTPBufferSize == 0 {
		engine.MaxHTTPBufferSize = secMaxPayload
	}
	return sioSuiteServer(&socketio.ServerOptions{ConnectTimeout: time.Second, Engine: engine})
}

// startRefSIO starts conformance/node/rel_sio_server.js and returns its
// /socket.io/ base URL.
func startRefSIO(t *testing.T, options string) (string, *testutil.NodeProcess) {
	t.Helper()
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/rel_sio_server.js", strconv.Itoa(port), options)
	node.WaitLine(t, "listening", 10*time.Second)
	return "http://127.0.0.1:" + strconv.Itoa(port) + "/socket.io/", node
}

var secSID = regexp.MustCompile(`"sid":"[A-Za-z0-9_-]+"`)

// sioTranscript opens a WebSocket Socket.IO connection to base, joins "/",
// sends msgs ("b:" prefix: a binary frame), then a probe event, and describes
// what came back: every message until the probe's answer ("alive") or the end
// of the connection ("closed <status>").
func sioTranscript(t *testing.T, base string, msgs []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	read := func() (string, error) {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return "", err
		}
		if typ == websocket.MessageBinary {
			return "b:" + hex.EncodeToString(b), nil
		}
		return secSID.ReplaceAllString(string(b), `"sid":"*"`), nil
	}
	if _, err := read(); err != nil { // open
		t.Fatal(err)
	}
	write := func(m string) error {
		if b, ok := strings.CutPrefix(m, "b:"); ok {
			return c.Write(ctx, websocket.MessageBinary, []byte(b))
		}
		return c.Write(ctx, websocket.MessageText, []byte(m))
	}
	if err := write("40"); err != nil {
		t.Fatal(err)
	}
	for m := ""; m != `42["auth",{}]`; {
		if m, err = read(); err != nil {
			t.Fatalf("joining /: %v", err)
		}
	}
	// Reads run concurrently: a write failing (the server closed) must not
	// lose what the server sent before closing.
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		for {
			m, err := read()
			if err != nil {
				lines <- "closed"
				return
			}
			lines <- m
		}
	}()
	for _, m := range append(msgs, `42["message","probe"]`) {
		if write(m) != nil {
			break
		}
	}
	var out []string
	for m := range lines {
		switch m {
		case "2":
		case `42["message-back","probe"]`:
			c.CloseNow()
			for range lines {
			}
			return strings.Join(append(out, "alive"), " | ")
		default:
			out = append(out, m)
		}
	}
	return strings.Join(out, " | ")
}

// closeDesc describes how a WebSocket ended: "closed" for a normal end (1000,
// no status, or no close frame: the libraries differ and nothing depends on
// it), else "closed <status>" (1007 invalid UTF-8, 1009 too big).
func closeDesc(err error) string {
	switch s := websocket.CloseStatus(err); s {
	case -1, websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
		return "closed"
	default:
		return "closed " + strconv.Itoa(int(s))
	}
}

// secStillServes checks that a fresh client gets its echo from the server.
func secStillServes(t *testing.T, base string) {
	t.Helper()
	if got := sioTranscript(t, base, []string{`42["message",1]`}); !strings.HasSuffix(got, `42["message-back",1] | alive`) {
		t.Fatalf("a fresh client after the hostile input: %s", got)
	}
}

// secSIODeviations are deliberate differences from the reference: the
// reference's transcript, then ours. Our parser refuses (closes the
// connection with a parse error, as for any other invalid attachment) some
// placeholders that socket.io-parser lets through as plain values.
var secSIODeviations = map[string]string{
	// num 0.5 passes the reference's range check and resolves to undefined.
	`42["message-back",null] | alive`: "closed",
	// A placeholder object in a text event, or one whose _placeholder is
	// not the boolean true, is kept as a plain object by the reference.
	`42["message-back",{"_placeholder":"true","num":0}] | alive`: "closed",
	`42["message-back",{"_placeholder":true,"num":0}] | alive`:   "closed",
}

func runSIOCases(t *testing.T, ref, ours string, cases []struct {
	name string
	send []string
}) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := sioTranscript(t, ref, tc.send)
			got := sioTranscript(t, ours, tc.send)
			if got != want && secSIODeviations[want] != got {
				t.Errorf("sent %q\nours:      %s\nreference: %s", tc.send, got, want)
			}
		})
	}
	secStillServes(t, ref)
	secStillServes(t, ours)
}

// TestSecurityCVE2022_2421_CVE2023_32695_Attachments: insufficient validation of
// binary attachments and event names by the parser (socket.io-parser
// advisories CVE-2022-2421 and CVE-2023-32695): placeholders pointing outside
// the attachments, non-numeric indexes, absurd attachment counts, event names
// that are not strings. The reference closes the connection with a parse
// error; nothing else is affected.
func TestSecurityCVE2022_2421_CVE2023_32695_Attachments(t *testing.T) {
	ref, node := startRefSIO(t, fmt.Sprintf(`{"maxHttpBufferSize":%d}`, secMaxPayload))
	ours := startSIO(t, secSIOServer(nil)).base
	ph := func(num string) string { return `{"_placeholder":true,"num":` + num + `}` }
	runSIOCases(t, ref, ours, []struct {
		name string
		send []string
	}{
		{"valid binary event", []string{`452-["message",` + ph("0") + `,` + ph("1") + `]`, "b:x", "b:y"}},
		{"index out of range", []string{`451-["message",` + ph("1") + `]`, "b:x"}},
		{"negative index", []string{`451-["message",` + ph("-1") + `]`, "b:x"}},
		{"fractional index", []string{`451-["message",` + ph("0.5") + `]`, "b:x"}},
		{"string index", []string{`451-["message",` + ph(`"0"`) + `]`, "b:x"}},
		{"toString index", []string{`451-["message",` + ph(`"toString"`) + `]`, "b:x"}},
		{"__proto__ index", []string{`451-["message",` + ph(`"__proto__"`) + `]`, "b:x"}},
		{"placeholder true as string", []string{`451-["message",{"_placeholder":"true","num":0}]`, "b:x"}},
		{"placeholder in a text event", []string{`42["message",` + ph("0") + `]`}},
		{"huge attachment count", []string{`4599999999999-["message"]`}},
		{"attachment count not a number", []string{`45a-["message"]`}},
		{"attachment count without dash", []string{`451["message",` + ph("0") + `]`, "b:x"}},
		{"binary frame without a packet", []string{"b:x"}},
		{"event name an object", []string{`42[{"toString":"foo"}]`}},
		{"event name a number", []string{`42[1]`}},
		{"event name null", []string{`42[null]`}},
		{"empty event array", []string{`42[]`}},
		{"event payload an object", []string{`42{"a":1}`}},
		{"binary event name an object", []string{`451-[{"toString":"foo"},` + ph("0") + `]`, "b:x"}},
		{"ack without id", []string{`43["x"]`}},
		{"ack for an unknown id", []string{`4399["x"]`}},
		{"ack payload an object", []string{`431{"a":1}`}},
		{"__proto__ argument", []string{`42["message",{"__proto__":{"polluted":1}}]`}},
	})
	for _, l := range node.Lines() {
		if strings.HasPrefix(l, "uncaught") {
			t.Errorf("the reference server met: %s", l)
		}
	}
}

// TestSecurityCVE2024_38355_ErrorEvent: an "error" event sent by a client (the
// unhandled 'error' crash of socket.io, CVE-2024-38355) reaches a user handler
// when there is one and is otherwise ignored; the connection stays up. Other
// reserved names are refused as the reference refuses them.
func TestSecurityCVE2024_38355_ErrorEvent(t *testing.T) {
	ref, _ := startRefSIO(t, "")
	ours := startSIO(t, secSIOServer(nil)).base
	runSIOCases(t, ref, ours, []struct {
		name string
		send []string
	}{
		{"error event", []string{`42["error","boom"]`}},
		{"error event without args", []string{`42["error"]`}},
		{"error event with ack", []string{`421["error",{}]`}},
		{"binary error event", []string{`451-["error",` + ph0 + `]`, "b:x"}},
		{"error on a namespace not joined", []string{`42/custom,["error","boom"]`}},
		{"connect_error event", []string{`42["connect_error","x"]`}},
		{"disconnecting event", []string{`42["disconnecting"]`}},
		{"newListener event", []string{`42["newListener","x"]`}},
		{"removeListener event", []string{`42["removeListener","x"]`}},
	})
}

// TestSecurityCVE2023_31125_CraftedPackets: crafted Engine.IO packets (the
// uncaught exception of engine.io, CVE-2023-31125): packets out of place on a
// WebSocket session, and an upgrade probe sequence in the wrong order.
func TestSecurityCVE2023_31125_CraftedPackets(t *testing.T) {
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port),
		fmt.Sprintf(`{"pingInterval":60000,"pingTimeout":60000,"maxHttpBufferSize":%d}`, secMaxPayload))
	node.WaitLine(t, "listening", 10*time.Second)
	ref := "http://127.0.0.1:" + strconv.Itoa(port) + "/engine.io/"
	ours := startEIO(t, eioEchoHandler, &engineio.ServerOptions{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxHTTPBufferSize: secMaxPayload,
	}).base

	for _, tc := range []struct {
		name string
		send []string
	}{
		{"empty text frame", []string{""}},
		{"unknown packet type", []string{"9"}},
		{"open from the client", []string{"0"}},
		{"upgrade on a websocket session", []string{"5"}},
		{"probe ping on a websocket session", []string{"2probe"}},
		{"probe pong on a websocket session", []string{"3probe"}},
		{"unsolicited pong", []string{"3"}},
		{"noop", []string{"6"}},
		{"base64 in a text frame", []string{"bAQID"}},
		{"empty binary frame", []string{"b:"}},
		{"non-utf8 text", []string{"4\xff\xfe"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := eioWSTranscript(t, ref, "", tc.send)
			got := eioWSTranscript(t, ours, "", tc.send)
			if got != want {
				t.Errorf("sent %q\nours:      %s\nreference: %s", tc.send, got, want)
			}
		})
	}
	// Upgrades of a polling session with the probe sequence out of order.
	for _, tc := range []struct {
		name string
		send []string
	}{
		{"upgrade without probe", []string{"5"}},
		{"message before the probe", []string{"4x"}},
		{"two probes", []string{"2probe", "2probe"}},
		{"pong instead of ping", []string{"3probe"}},
		{"probe with other data", []string{"2other"}},
		{"close during the upgrade", []string{"2probe", "1"}},
	} {
		t.Run("upgrade/"+tc.name, func(t *testing.T) {
			want := eioWSTranscript(t, ref, diffHandshake(t, ref), tc.send)
			got := eioWSTranscript(t, ours, diffHandshake(t, ours), tc.send)
			if got != want {
				t.Errorf("sent %q\nours:      %s\nreference: %s", tc.send, got, want)
			}
		})
	}
	for _, base := range []string{ref, ours} {
		if got := eioWSTranscript(t, base, "", []string{"4hello"}); got != "4hello | alive" {
			t.Fatalf("%s after the crafted packets: %s", base, got)
		}
	}
}

// eioWSTranscript opens a WebSocket (upgrading sid when set, else a new
// session), sends msgs, then a probe message "4probe-end", and describes the
// answers until the probe's echo ("alive") or the end of the connection.
func eioWSTranscript(t *testing.T, base, sid string, msgs []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := "?EIO=4&transport=websocket"
	if sid != "" {
		q += "&sid=" + sid
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+q, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	if sid == "" {
		if _, _, err := c.Read(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range append(msgs, "4probe-end") {
		var err error
		if b, ok := strings.CutPrefix(m, "b:"); ok {
			err = c.Write(ctx, websocket.MessageBinary, []byte(b))
		} else {
			err = c.Write(ctx, websocket.MessageText, []byte(m))
		}
		if err != nil {
			break
		}
	}
	var out []string
	for {
		typ, b, err := c.Read(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return strings.Join(append(out, "no answer"), " | ")
		case err != nil:
			return strings.Join(append(out, closeDesc(err)), " | ")
		case typ == websocket.MessageText && string(b) == "4probe-end":
			return strings.Join(append(out, "alive"), " | ")
		case typ == websocket.MessageBinary:
			out = append(out, "b:"+hex.EncodeToString(b))
		case string(b) != "2" && string(b) != "6":
			out = append(out, string(b))
		}
	}
}

// TestSecurityCVE2020_36048_Oversize: payloads over maxHttpBufferSize
// (engine.io CVE-2020-36048, a DoS by large WebSocket messages): a WebSocket
// message over the limit closes that connection with 1009 as the reference's
// ws library does; a POST body over the limit is refused whether it declares
// its length or is chunked; nothing over the limit reaches the handler.
func TestSecurityCVE2020_36048_Oversize(t *testing.T) {
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port),
		fmt.Sprintf(`{"pingInterval":60000,"pingTimeout":60000,"maxHttpBufferSize":%d}`, secMaxPayload))
	node.WaitLine(t, "listening", 10*time.Second)
	ref := "http://127.0.0.1:" + strconv.Itoa(port) + "/engine.io/"
	ours := startEIO(t, eioEchoHandler, &engineio.ServerOptions{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxHTTPBufferSize: secMaxPayload,
	}).base

	big := "4" + strings.Repeat("x", secMaxPayload)
	for _, tc := range []struct {
		name string
		send []string
	}{
		{"text message at the limit", []string{big[:secMaxPayload]}},
		{"text message over the limit", []string{big}},
		{"binary message over the limit", []string{"b:" + strings.Repeat("y", secMaxPayload+1)}},
		{"far over the limit", []string{"4" + strings.Repeat("z", 64*secMaxPayload)}},
	} {
		t.Run("websocket/"+tc.name, func(t *testing.T) {
			want := eioWSTranscript(t, ref, "", tc.send)
			got := eioWSTranscript(t, ours, "", tc.send)
			want = strings.ReplaceAll(want, big[:secMaxPayload], "<limit>")
			got = strings.ReplaceAll(got, big[:secMaxPayload], "<limit>")
			if got != want {
				t.Errorf("ours:      %s\nreference: %s", got, want)
			}
			if over := strings.Contains(tc.name, "over"); over != (got == "closed 1009") {
				t.Errorf("over the limit: %v, transcript %s", over, got)
			}
		})
	}
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool
	}{
		{"POST over the limit", big, false},
		{"chunked POST over the limit", big, true},
		{"chunked POST far over the limit", strings.Repeat("4abcdefgh\x1e", 10*secMaxPayload), true},
		{"many packets over the limit", strings.Repeat("4a\x1e", secMaxPayload/3+1) + "4a", false},
	} {
		t.Run("polling/"+tc.name, func(t *testing.T) {
			want := secPost(t, ref, tc.body, tc.chunked)
			got := secPost(t, ours, tc.body, tc.chunked)
			if got != want {
				t.Errorf("ours:      %s\nreference: %s", got, want)
			}
			if !strings.HasPrefix(got, "POST -> 413 ") && !strings.HasPrefix(got, "POST -> 400 ") {
				t.Errorf("the oversize POST was not refused: %s", got)
			}
		})
	}
}

// secPost posts body to a new polling session and describes the answer, and
// those to a following small POST and GET.
func secPost(t *testing.T, base, body string, chunked bool) string {
	t.Helper()
	sid := diffHandshake(t, base)
	q := base + "?EIO=4&transport=polling&sid=" + sid
	var r io.Reader = strings.NewReader(body)
	if chunked {
		r = io.MultiReader(r) // hides the length: sent chunked
	}
	req, _ := http.NewRequest(http.MethodPost, q, r)
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := http.DefaultClient.Do(req)
	var post string
	if err != nil {
		post = "connection error"
	} else {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		post = fmt.Sprintf("%d %q", res.StatusCode, b)
	}
	// The session may survive (the reference keeps it): something to poll.
	after := diffReq(t, "POST", q, "4after", nil)
	return "POST -> " + post + "; POST 4after -> " + after + "; GET -> " + diffReq(t, "GET", q, "", nil)
}

// TestSecurityCVE2022_41940_MalformedHTTP: malformed HTTP requests (engine.io
// CVE-2022-41940, an uncaught exception on a crafted upgrade request): the
// reference's answers for requests that reach the Engine.IO layer, and the
// server's survival of garbage that does not.
func TestSecurityCVE2022_41940_MalformedHTTP(t *testing.T) {
	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port),
		`{"pingInterval":60000,"pingTimeout":60000}`)
	node.WaitLine(t, "listening", 10*time.Second)
	refAddr := "127.0.0.1:" + strconv.Itoa(port)
	d := startEIO(t, eioEchoHandler, &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute})
	oursAddr := strings.TrimSuffix(strings.TrimPrefix(d.base, "http://"), "/engine.io/")

	upgrade := "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	cases := []struct {
		name, req string // req: request line and headers, with "SID" replaced by a polling session id
	}{
		{"upgrade on the polling transport", "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n" + upgrade},
		{"upgrade naming a polling session with transport=polling", "GET /engine.io/?EIO=4&transport=polling&sid=SID HTTP/1.1\r\n" + upgrade},
		{"upgrade with an unknown sid", "GET /engine.io/?EIO=4&transport=websocket&sid=nope HTTP/1.1\r\n" + upgrade},
		{"upgrade with an unknown transport", "GET /engine.io/?EIO=4&transport=flash HTTP/1.1\r\n" + upgrade},
		{"upgrade by POST", "POST /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nContent-Length: 0\r\n" + upgrade},
		{"bad percent-encoding in the query", "GET /engine.io/?EIO=4&transport=polling&sid=%zz HTTP/1.1\r\n"},
		{"JSONP index", "GET /engine.io/?EIO=4&transport=polling&j=0 HTTP/1.1\r\n"},
		{"EIO not a number", "GET /engine.io/?EIO=x&transport=polling HTTP/1.1\r\n"},
	}
	// Deliberate differences, each with its reason (the reference's answer, then ours).
	deviations := map[string]string{
		// The reference accepts a WebSocket upgrade whatever the transport
		// parameter says; we refuse an upgrade on transport=polling.
		"101": `400 "Bad request"`,
		// The reference still answers JSONP (j=) requests; we have no JSONP
		// and answer a plain polling handshake.
		"JSONP": "plain",
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want := rawHTTP(t, refAddr, tc.req, diffHandshake(t, "http://"+refAddr+"/engine.io/"))
			got := rawHTTP(t, oursAddr, tc.req, diffHandshake(t, d.base))
			if strings.Contains(want, "___eio[0](") && strings.HasPrefix(got, `200 "0{`) {
				want, got = "JSONP", "plain"
			}
			if got != want && deviations[want] != got {
				t.Errorf("ours:      %s\nreference: %s", got, want)
			}
		})
	}
	// Garbage below the Engine.IO layer: only survival is compared.
	for _, garbage := range []string{
		"\x00\x01\x02\r\n\r\n",
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
		"GET /engine.io/?EIO=4&transport=polling HTTP/9.9\r\nHost: x\r\n\r\n",
		"POST /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
		"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 2000) + "\r\n",
	} {
		for _, addr := range []string{refAddr, oursAddr} {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			c.Write([]byte(garbage))
			io.Copy(io.Discard, c)
			c.Close()
		}
	}
	sid := d.handshake()
	d.post("EIO=4&transport=polling&sid="+sid, "4alive")
	if _, body := d.get("EIO=4&transport=polling&sid=" + sid); body != "4alive" {
		t.Errorf("after the malformed requests: %q", body)
	}
	diffHandshake(t, "http://"+refAddr+"/engine.io/")
}

// rawHTTP writes one request on a new TCP connection and describes the
// response's status line and body.
func rawHTTP(t *testing.T, addr, req, sid string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req = strings.ReplaceAll(req, "SID", sid)
	if _, err := io.WriteString(c, req+"Host: "+addr+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &ne) {
			return "no response"
		}
		return "unreadable response"
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusSwitchingProtocols {
		return "101"
	}
	b, _ := io.ReadAll(res.Body)
	return fmt.Sprintf("%d %q", res.StatusCode, b)
}
