package engineio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/corvid-io/corvid/internal/ws"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawWS is a hand-driven WebSocket client for the frame-level tests.
type rawWS struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

const rawWSRequest = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: %HOST%\r\n" +
	"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// rawWSDial sends the handshake request (with extra header lines, and any
// bytes to send right behind it) and returns the client and the response.
func rawWSDial(t *testing.T, d *stDriver, request string, after []byte) (*rawWS, *http.Response) {
	t.Helper()
	u, _ := url.Parse(d.hs.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := strings.ReplaceAll(request, "%HOST%", u.Host) + "\r\n"
	if _, err := c.Write(append([]byte(req), after...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &rawWS{t: t, c: c, br: br}, res
}

// rawWSOpen opens a session and reads its open packet.
func rawWSOpen(t *testing.T, d *stDriver, after []byte) *rawWS {
	t.Helper()
	w, res := rawWSDial(t, d, rawWSRequest, after)
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	if got, want := res.Header.Get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("Sec-WebSocket-Accept %q", got)
	}
	if op, p := w.read(); op != opText || !strings.HasPrefix(string(p), "0{") {
		t.Fatalf("open frame %x %q", op, p)
	}
	return w
}

// WebSocket opcodes (RFC 6455 5.2).
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// clientFrame returns a client frame: b0 holds FIN, RSV and the opcode.
func clientFrame(b0 byte, payload []byte, masked bool) []byte {
	return ws.ClientFrame(b0, payload, masked)
}

func (w *rawWS) write(frames ...[]byte) {
	w.t.Helper()
	if _, err := w.c.Write(bytes.Join(frames, nil)); err != nil {
		w.t.Fatal(err)
	}
}

// read reads one server frame (FIN set, unmasked) and returns its opcode and
// payload.
func (w *rawWS) read() (byte, []byte) {
	w.t.Helper()
	op, p, err := w.readErr()
	if err != nil {
		w.t.Fatal(err)
	}
	return op, p
}

func (w *rawWS) readErr() (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0xF0 != 0x80 || h[1]&0x80 != 0 {
		return 0, nil, errors.New("bad server frame header")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(w.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(w.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	_, err := io.ReadFull(w.br, p)
	return h[0] & 0x0F, p, err
}

// expectClose reads the server's close frame, checks its code, answers it
// and checks that the server then closes the TCP connection.
func (w *rawWS) expectClose(code int) {
	w.t.Helper()
	op, p := w.read()
	if op != opClose || len(p) < 2 || int(binary.BigEndian.Uint16(p)) != code {
		w.t.Fatalf("want close %d, got op %x %q", code, op, p)
	}
	w.write(clientFrame(0x88, p[:2], true))
	w.expectEOF()
}

func (w *rawWS) expectEOF() {
	w.t.Helper()
	if op, p, err := w.readErr(); err == nil {
		w.t.Fatalf("want the connection closed, got op %x %q", op, p)
	}
}

// wsModes runs f with a Read-mode echo server and a push-mode one; closed
// returns the session's close cause.
func wsModes(t *testing.T, opts *ServerOptions, f func(t *testing.T, d *stDriver, closed func() error)) {
	t.Run("read", func(t *testing.T) {
		sessions, h := newSTSessions(stEcho)
		d := stStart(t, h, opts)
		f(t, d, func() error { return stWaitClosedSession(t, sessions.next(t)) })
	})
	t.Run("push", func(t *testing.T) {
		p := newPushRecorder()
		d := stStart(t, p.handler, opts)
		f(t, d, func() error { return p.waitClosed(t) })
	})
}

func TestWSFragmentsAndControlFrames(t *testing.T) {
	wsModes(t, stOptions(), func(t *testing.T, d *stDriver, closed func() error) {
		w := rawWSOpen(t, d, nil)
		w.write(
			clientFrame(0x01, []byte("4he"), true),
			clientFrame(0x89, []byte("p1"), true), // ping between fragments
			clientFrame(0x00, []byte("ll"), true),
			clientFrame(0x8A, []byte("unsolicited"), true), // pong: ignored
			clientFrame(0x80, []byte("o"), true),
		)
		if op, p := w.read(); op != opPong || string(p) != "p1" {
			t.Fatalf("want pong p1, got %x %q", op, p)
		}
		if op, p := w.read(); op != opText || string(p) != "4hello" {
			t.Fatalf("want 4hello, got %x %q", op, p)
		}
		// 16-bit and 64-bit lengths, binary.
		big := bytes.Repeat([]byte("x"), 70000)
		w.write(clientFrame(0x82, big[:300], true), clientFrame(0x82, big, true))
		for _, n := range []int{300, 70000} {
			if op, p := w.read(); op != opBinary || len(p) != n {
				t.Fatalf("want %d binary bytes, got %x %d", n, op, len(p))
			}
		}
		w.write(clientFrame(0x88, []byte{0x03, 0xE8, 'b', 'y', 'e'}, true))
		if op, p := w.read(); op != opClose || !bytes.Equal(p, []byte{0x03, 0xE8}) {
			t.Fatalf("want the close echoed, got %x %q", op, p)
		}
		w.expectEOF()
		if err := closed(); !errors.Is(err, ReasonTransportClose) {
			t.Fatalf("session closed with %v", err)
		}
	})
}

func TestWSEarlyFrames(t *testing.T) {
	// Frames sent right behind the handshake request, in the same segment.
	wsModes(t, stOptions(), func(t *testing.T, d *stDriver, closed func() error) {
		w := rawWSOpen(t, d, clientFrame(0x81, []byte("4early"), true))
		if op, p := w.read(); op != opText || string(p) != "4early" {
			t.Fatalf("want 4early, got %x %q", op, p)
		}
	})
}

func TestWSProtocolErrors(t *testing.T) {
	cases := []struct {
		name   string
		frame  []byte
		code   int
		reason Reason
	}{
		{"unmasked", clientFrame(0x81, []byte("4x"), false), 1002, ReasonTransportError},
		{"rsv1", clientFrame(0xC1, []byte("4x"), true), 1002, ReasonTransportError},
		{"opcode", clientFrame(0x83, []byte("4x"), true), 1002, ReasonTransportError},
		{"fragmented ping", clientFrame(0x09, []byte("p"), true), 1002, ReasonTransportError},
		{"continuation first", clientFrame(0x80, []byte("4x"), true), 1002, ReasonTransportError},
		{"bad close code", clientFrame(0x88, []byte{0x03, 0xED}, true), 1002, ReasonTransportError},
		{"utf8", clientFrame(0x81, []byte("4\xff\xfe"), true), 1007, ReasonTransportError},
		{"too big", clientFrame(0x81, bytes.Repeat([]byte("4"), 200), true), 1009, ReasonTransportError},
		// A length over the limit fails the connection as soon as it is
		// declared, before any payload byte: the frame's, or the message's
		// total over its fragments.
		{"declared too big", clientFrame(0x81, bytes.Repeat([]byte("4"), 200), true)[:8], 1009, ReasonTransportError},
		{"fragments declared too big", append(clientFrame(0x01, bytes.Repeat([]byte("4"), 60), true),
			clientFrame(0x80, bytes.Repeat([]byte("4"), 60), true)[:6]...), 1009, ReasonTransportError},
	}
	opts := stOptions()
	opts.MaxHTTPBufferSize = 100
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wsModes(t, opts, func(t *testing.T, d *stDriver, closed func() error) {
				w := rawWSOpen(t, d, nil)
				w.write(tc.frame)
				w.expectClose(tc.code)
				if err := closed(); !errors.Is(err, tc.reason) {
					t.Fatalf("session closed with %v", err)
				}
			})
		})
	}
}

func TestWSBadCloseFrameIsNotAwaited(t *testing.T) {
	// The peer's close frame, even a bad one, is the last it sends: the
	// server answers 1002 and closes the TCP connection without waiting for
	// another.
	wsModes(t, stOptions(), func(t *testing.T, d *stDriver, closed func() error) {
		w := rawWSOpen(t, d, nil)
		w.write(clientFrame(0x88, []byte{0x03}, true))
		if op, p := w.read(); op != opClose || len(p) < 2 || int(binary.BigEndian.Uint16(p)) != 1002 {
			t.Fatalf("want close 1002, got op %x %q", op, p)
		}
		w.expectEOF() // at once (the test's run time shows it; no timed check)
		if err := closed(); !errors.Is(err, ReasonTransportError) {
			t.Fatalf("session closed with %v", err)
		}
	})
}

func TestWSServerClose(t *testing.T) {
	sessions, h := newSTSessions(nil)
	d := stStart(t, h, stOptions())
	w := rawWSOpen(t, d, nil)
	sessions.next(t).Close()
	w.expectClose(1000)
}

func TestWSHandshakeRefusals(t *testing.T) {
	d := stStart(t, stEcho, stOptions())
	cases := []struct {
		name    string
		request string
		status  int
		version string
		body    string
	}{
		{"version 12", strings.Replace(rawWSRequest, "Version: 13", "Version: 12", 1), 400, "13, 8", "Missing or invalid Sec-WebSocket-Version header"},
		{"no version", strings.Replace(rawWSRequest, "Sec-WebSocket-Version: 13\r\n", "", 1), 400, "13, 8", "Missing or invalid Sec-WebSocket-Version header"},
		{"no key", strings.Replace(rawWSRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), 400, "", "Missing or invalid Sec-WebSocket-Key header"},
		{"short key", strings.Replace(rawWSRequest, "dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZQ==", 1), 400, "", "Missing or invalid Sec-WebSocket-Key header"},
		{"no key and no version", strings.Replace(strings.Replace(rawWSRequest, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1), "Sec-WebSocket-Version: 13\r\n", "", 1), 400, "", "Missing or invalid Sec-WebSocket-Key header"},
		{"upgrade to another protocol", strings.Replace(rawWSRequest, "Upgrade: websocket", "Upgrade: h2c", 1), 400, "", "Invalid Upgrade header"},
		{"cross origin", rawWSRequest + "Origin: http://elsewhere.example\r\n", 403, "", "Forbidden\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, res := rawWSDial(t, d, tc.request, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status || res.Header.Get("Sec-WebSocket-Version") != tc.version || string(body) != tc.body {
				t.Fatalf("got %d with Sec-WebSocket-Version %q and body %q", res.StatusCode, res.Header.Get("Sec-WebSocket-Version"), body)
			}
			if tc.status == 400 && (res.Header.Get("Content-Type") != "text/html" || !res.Close) {
				t.Fatalf("Content-Type %q, connection closed %v; want text/html and close", res.Header.Get("Content-Type"), res.Close)
			}
		})
	}
}

// TestWSHandshakeVersion8 accepts the last draft's version, as ws does.
func TestWSHandshakeVersion8(t *testing.T) {
	d := stStart(t, stEcho, stOptions())
	_, res := rawWSDial(t, d, strings.Replace(rawWSRequest, "Version: 13", "Version: 8", 1), nil)
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", res.StatusCode)
	}
}

// TestWSInlineWritesKeepFramesWhole fills the socket of a client that does
// not read, so that Sends written inline leave rests for the writer, while
// the client's pings make the reader write pongs in between: every frame
// must arrive whole and in order.
func TestWSInlineWritesKeepFramesWhole(t *testing.T) {
	opts := stOptions()
	opts.MaxSendQueueBytes = 64 << 20
	opts.MaxSendQueueLen = 1 << 20
	p := newPushRecorder()
	d := stStart(t, p.handler, opts)
	w := rawWSOpen(t, d, nil)
	s := <-p.sessions
	const n = 2000
	payload := bytes.Repeat([]byte("y"), 6000)
	for i := range n {
		m := append([]byte(strconv.Itoa(i)+":"), payload...)
		if err := s.Send(Message{Data: m}); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			w.write(clientFrame(0x89, []byte("p"+strconv.Itoa(i)), true))
		}
	}
	pongs := 0
	for i := 0; i < n; {
		op, p := w.read()
		if op == opPong {
			pongs++
			continue
		}
		want := "4" + strconv.Itoa(i) + ":" + string(payload)
		if op != opText || string(p) != want {
			t.Fatalf("frame %d: op %x, %d bytes %.20q", i, op, len(p), p)
		}
		i++
	}
	for pongs < n/50 {
		if op, _ := w.read(); op != opPong {
			t.Fatalf("unexpected frame %x", op)
		}
		pongs++
	}
}

// TestWSStuckPeerHoldsNoOtherConnection: in push mode the connections are
// read by a few shared goroutines. A peer that does not read (its pong cannot
// be written) or that does not answer our close frame (after a protocol
// error) must not hold them: every other connection is still served.
func TestWSStuckPeerHoldsNoOtherConnection(t *testing.T) {
	cases := []struct {
		name string
		// stall makes w a peer whose answer would wait on it.
		stall func(t *testing.T, w *rawWS)
	}{
		{"ping while not reading", func(t *testing.T, w *rawWS) {
			// The echoes of 32 MiB fill both sockets' buffers: the session's
			// writer waits for the peer to read, holding the connection's
			// writes, and the pong must wait behind it.
			msg := clientFrame(0x81, append([]byte("4"), bytes.Repeat([]byte("x"), 128<<10)...), true)
			for range 256 {
				w.write(msg)
			}
			w.write(clientFrame(0x89, []byte("ping"), true))
		}},
		{"protocol error, close not answered", func(t *testing.T, w *rawWS) {
			w.write(clientFrame(0xC1, []byte("4x"), true)) // RSV1: answered by close 1002, then awaited
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPushRecorder()
			opts := stOptions()
			opts.MaxSendQueueBytes = 64 << 20
			opts.MaxHTTPBufferSize = 1 << 20
			d := stStart(t, p.handler, opts)
			stuck := rawWSOpen(t, d, nil)
			stuck.c.SetDeadline(time.Now().Add(time.Minute))
			tc.stall(t, stuck)
			// Connections opened after the stuck one are spread over every
			// poller, the stuck one's included.
			for i := range 2 * runtime.GOMAXPROCS(0) {
				w := rawWSOpen(t, d, nil)
				// Well under the 5 s a close waits for the peer's answer.
				w.c.SetDeadline(time.Now().Add(3 * time.Second))
				want := "4hello-" + strconv.Itoa(i)
				w.write(clientFrame(0x81, []byte(want), true))
				if op, p, err := w.readErr(); err != nil || op != opText || string(p) != want {
					t.Fatalf("connection %d beside the stuck peer: %x %q %v", i, op, p, err)
				}
			}
			stuck.c.Close()
		})
	}
}
