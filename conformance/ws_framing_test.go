package conformance

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// The differential WebSocket framing suite: the case categories of the
// Autobahn testsuite (framing and reserved bits, opcodes, control frames and
// their limits, fragmentation with interleaved control frames, UTF-8
// validation with code points split across fragments, close codes and the
// closing handshake, size limits), written as byte sequences that a raw
// client sends, masked by hand, over a plain TCP connection to four Engine.IO
// echo servers:
//
//   - corvid: our server reading with Session.Read; the handshake and the
//     framing are ours (a hijackable connection without permessage-deflate);
//   - corvid-push: the same framing read by the server's own goroutines
//     (Session.Receive; on linux the epoll reader), a second read path;
//   - coder: our server with PerMessageDeflate, which hands the connection to
//     github.com/coder/websocket (the client offers no extension, so frames
//     are not compressed: only the framing differs);
//   - ws: npm engine.io 6.6 (node/eio_server.js) over npm ws 8.
//
// Every server echoes each Engine.IO message as it came (text as text, binary
// as binary), so the client observes, in order: the echoes, the pongs, the
// server's close frame and its code, and the end of the TCP connection. Each
// case states the outcome RFC 6455 requires; our two read paths must give it
// exactly. Where a peer gives another outcome, the case records it, with the
// reason, and the suite checks the peer still behaves so (a deviation that
// disappears fails the test, so the notes stay true).
//
// The limit of a message is 1000 bytes on every server (MaxHTTPBufferSize,
// engine.io's maxHttpBufferSize, which engine.io hands to ws as maxPayload).

const wsFrameLimit = 1000

// wsCase is one case: frames the client writes, then (unless it sent a close
// frame) a sentinel text message "4end" whose echo ends the case with "ok".
type wsCase struct {
	name string
	// send is written one by one; a nil entry waits for the server's answer
	// (one event) before writing on. The order of an echo and a pong, or of
	// an echo and the close frame after a bad frame that follows it, is the
	// server's business (the echo is written by the application, the pong or
	// the close by the framing), so a case that has both waits in between.
	send [][]byte
	// split writes every byte on its own (a frame arrives in pieces).
	split bool
	// lateAnswer: the client answers the server's close frame only once it
	// has written all of send, and never half-closes the TCP connection (a
	// client still sending a frame when the server fails the connection).
	lateAnswer bool
	// want is the outcome RFC 6455 requires, events joined by " | ":
	//   text "4x", text len=N    a text message echoed
	//   binary 0aff, binary len=N, binary (empty)
	//   pong "x", pong len=N     the answer to a ping
	//   close N, close -         the server's close frame (- when it had no code)
	//   eof                      the server closed the TCP connection
	//   ok                       the sentinel's echo: the connection lives on
	//   timeout                  nothing more within the case's deadline
	want string
	// peers: what a peer server does instead of want, and why (in a comment).
	peers map[string]string
}

// Frame opcodes and flags.
const (
	wsFin   = 0x80
	wsRSV1  = 0x40
	wsRSV2  = 0x20
	wsRSV3  = 0x10
	wsCont  = 0x0
	wsText  = 0x1
	wsBin   = 0x2
	wsClose = 0x8
	wsPing  = 0x9
	wsPong  = 0xA
)

var wsMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// cframe is a masked client frame: first byte b0 (FIN, RSV, opcode), the
// shortest length encoding, payload masked with wsMaskKey.
func cframe(b0 byte, payload []byte) []byte {
	return cframeKey(b0, payload, wsMaskKey)
}

func cframeKey(b0 byte, payload []byte, key [4]byte) []byte {
	b := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// unmasked is a client frame without the mask bit (forbidden).
func unmasked(b0 byte, payload []byte) []byte {
	return append([]byte{b0, byte(len(payload))}, payload...)
}

// declared is a masked frame header that declares n payload bytes with a
// 16-bit (n < 65536) or 64-bit length, and no payload after it.
func declared(b0 byte, n uint64) []byte {
	b := []byte{b0}
	if n < 1<<16 {
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	} else {
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, n)
	}
	return append(b, wsMaskKey[:]...)
}

func text(s string) []byte { return cframe(wsFin|wsText, []byte(s)) }
func closeCode(code int, reason string) []byte {
	return cframe(wsFin|wsClose, append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...))
}

func frames(fs ...[]byte) [][]byte { return fs }

// wsFramingCases are the cases. Engine.IO text messages start with "4" (a
// message packet); binary messages are taken whole.
func wsFramingCases() []wsCase {
	const (
		failed    = "close 1002 | eof" // protocol error
		badUTF8   = "close 1007 | eof" // invalid frame payload data
		tooBig    = "close 1009 | eof" // message too big
		echoClose = "close %d | eof"
	)
	x := func(n int) string { return strings.Repeat("x", n) }
	cases := []wsCase{
		// 1. Framing: lengths and their encodings, arrival in pieces.
		{name: "text", send: frames(text("4hello")), want: `text "4hello" | ok`},
		{name: "binary", send: frames(cframe(wsFin|wsBin, []byte{1, 2, 0xff})), want: `binary 0102ff | ok`},
		{name: "binary empty", send: frames(cframe(wsFin|wsBin, nil)), want: `binary (empty) | ok`},
		{name: "text 125 bytes (7-bit length)", send: frames(text("4" + x(124))), want: `text len=125 | ok`},
		{name: "text 126 bytes (16-bit length)", send: frames(text("4" + x(125))), want: `text len=126 | ok`},
		{name: "binary 500 bytes", send: frames(cframe(wsFin|wsBin, bytes.Repeat([]byte{0xfe}, 500))), want: `binary len=500 | ok`},
		{name: "zero mask key", send: frames(cframeKey(wsFin|wsText, []byte("4zero"), [4]byte{})), want: `text "4zero" | ok`},
		{name: "frames in one write", send: frames(bytes.Join([][]byte{text("4a"), cframe(wsFin|wsBin, []byte{7}), text("4b")}, nil)),
			want: `text "4a" | binary 07 | text "4b" | ok`},
		{name: "pings in one write", send: frames(bytes.Join([][]byte{cframe(wsFin|wsPing, []byte("1")), cframe(wsFin|wsPong, []byte("x")), cframe(wsFin|wsPing, []byte("2"))}, nil)),
			want: `pong "1" | pong "2" | ok`},
		{name: "byte by byte", split: true, send: frames(text("4hello"), nil, cframe(wsFin|wsPing, []byte("p")), nil, text("4"+x(200))),
			want: `text "4hello" | pong "p" | text len=201 | ok`},
		{name: "unmasked frame", send: frames(unmasked(wsFin|wsText, []byte("4hi"))), want: failed,
			peers: map[string]string{
				// RFC 6455 5.1: the server fails the connection (Autobahn
				// expects 1002). coder/websocket returns an error without
				// sending a close frame, and our session then closes normally.
				"coder": "close 1000 | eof",
			}},

		// 2. Reserved bits (no extension is negotiated).
		{name: "RSV1 text", send: frames(cframe(wsFin|wsRSV1|wsText, []byte("4x"))), want: failed},
		{name: "RSV2 text", send: frames(cframe(wsFin|wsRSV2|wsText, []byte("4x"))), want: failed},
		{name: "RSV3 binary", send: frames(cframe(wsFin|wsRSV3|wsBin, []byte{1})), want: failed},
		{name: "RSV1|2|3 ping", send: frames(cframe(wsFin|wsRSV1|wsRSV2|wsRSV3|wsPing, nil)), want: failed},
		// RFC 6455 7.1.7: after failing the connection a server "MUST NOT
		// continue to attempt to process data (including a responding Close
		// frame)" and proceeds to close it. The server fails this frame on
		// its first two bytes (RSV1); the rest of it, still on its way, looks
		// like the header of a 125-byte frame, and the client's close frame
		// comes after.
		{name: "failed on the header, the rest arrives", lateAnswer: true,
			// The rest: the mask key and 20 bytes of payload, which begin
			// like a masked 125-byte binary frame.
			send: frames([]byte{wsFin | wsRSV1 | wsText, 0x80 | 20}, nil, append([]byte{wsFin | wsBin, 0x80 | 125}, make([]byte, 22)...)),
			want: failed,
			peers: map[string]string{
				// coder/websocket reads the whole header, mask key included,
				// before it checks the reserved bits: it waits for the rest.
				"coder": "timeout",
			}},
		{name: "echo, then RSV2", send: frames(text("4ok"), nil, cframe(wsFin|wsRSV2|wsText, []byte("4x"))), want: `text "4ok" | ` + failed},

		// 3. Opcodes: 3-7 are reserved data opcodes, 0xB-0xF reserved control ones.
		{name: "opcode 3", send: frames(cframe(wsFin|3, nil)), want: failed},
		{name: "opcode 7 with payload", send: frames(cframe(wsFin|7, []byte("4x"))), want: failed},
		{name: "opcode 0xB", send: frames(cframe(wsFin|0xB, nil)), want: failed},
		{name: "opcode 0xF with payload", send: frames(cframe(wsFin|0xF, []byte("x"))), want: failed},
		{name: "echo, then opcode 4", send: frames(text("4ok"), nil, cframe(wsFin|4, nil)), want: `text "4ok" | ` + failed},

		// 4. Control frames: answers, and their limits (125 bytes, never fragmented).
		{name: "ping empty", send: frames(cframe(wsFin|wsPing, nil)), want: `pong "" | ok`},
		{name: "ping binary payload", send: frames(cframe(wsFin|wsPing, []byte{0, 0xff, 0xfe})), want: `pong "\x00\xff\xfe" | ok`},
		{name: "ping 125 bytes", send: frames(cframe(wsFin|wsPing, bytes.Repeat([]byte{'*'}, 125))), want: `pong len=125 | ok`},
		{name: "ping 126 bytes", send: frames(cframe(wsFin|wsPing, bytes.Repeat([]byte{'*'}, 126))), want: failed},
		{name: "ping fragmented", send: frames(cframe(wsPing, []byte("a")), cframe(wsFin|wsCont, []byte("b"))), want: failed},
		{name: "ten pings", send: frames(bytes.Repeat(cframe(wsFin|wsPing, []byte("n")), 10)), want: strings.Repeat(`pong "n" | `, 10) + "ok"},
		{name: "unsolicited pong", send: frames(cframe(wsFin|wsPong, []byte("u"))), want: `ok`},
		{name: "pong 126 bytes", send: frames(cframe(wsFin|wsPong, bytes.Repeat([]byte{'*'}, 126))), want: failed},
		{name: "close 126 bytes", send: frames(closeCode(1000, x(124))), want: failed},

		// 5. Fragmentation, and control frames between fragments.
		{name: "text in 2 fragments", send: frames(cframe(wsText, []byte("4hel")), cframe(wsFin|wsCont, []byte("lo"))), want: `text "4hello" | ok`},
		{name: "text in 1-byte fragments", send: frames(cframe(wsText, []byte("4")), cframe(wsCont, []byte("a")), cframe(wsCont, []byte("b")), cframe(wsFin|wsCont, []byte("c"))),
			want: `text "4abc" | ok`},
		{name: "empty fragments", send: frames(cframe(wsText, nil), cframe(wsCont, []byte("4x")), cframe(wsCont, nil), cframe(wsFin|wsCont, nil)), want: `text "4x" | ok`},
		{name: "binary in 2 fragments", send: frames(cframe(wsBin, []byte{1, 2}), cframe(wsFin|wsCont, []byte{3})), want: `binary 010203 | ok`},
		{name: "fragments written apart", split: true, send: frames(cframe(wsText, []byte("4he")), cframe(wsFin|wsCont, []byte("y"))), want: `text "4hey" | ok`},
		{name: "ping between fragments", send: frames(cframe(wsText, []byte("4a")), cframe(wsFin|wsPing, []byte("p")), cframe(wsFin|wsCont, []byte("b"))),
			want: `pong "p" | text "4ab" | ok`},
		{name: "pong between fragments", send: frames(cframe(wsText, []byte("4a")), cframe(wsFin|wsPong, []byte("p")), cframe(wsFin|wsCont, []byte("b"))),
			want: `text "4ab" | ok`},
		{name: "close between fragments", send: frames(cframe(wsText, []byte("4a")), closeCode(1000, ""), cframe(wsFin|wsCont, []byte("b"))),
			want: fmt.Sprintf(echoClose, 1000)},
		{name: "continuation first", send: frames(cframe(wsFin|wsCont, []byte("4x"))), want: failed},
		{name: "unfinished continuation first", send: frames(cframe(wsCont, []byte("4x"))), want: failed},
		{name: "text inside a fragmented text", send: frames(cframe(wsText, []byte("4a")), text("4b")), want: failed},
		{name: "binary inside a fragmented text", send: frames(cframe(wsText, []byte("4a")), cframe(wsFin|wsBin, []byte{1})), want: failed},

		// 6. UTF-8: text messages must be valid, whole; binary ones are not checked.
		{name: "utf8 two-byte sequences", send: frames(text("4κόσμε")), want: `text "4κόσμε" | ok`},
		{name: "utf8 four-byte sequence", send: frames(text("4\xf0\x9d\x84\x9e")), want: `text "4𝄞" | ok`},
		{name: "utf8 largest code point", send: frames(text("4\xf4\x8f\xbf\xbf")), want: `text "4\U0010ffff" | ok`},
		{name: "utf8 invalid byte", send: frames(text("4\xff")), want: badUTF8},
		{name: "utf8 overlong", send: frames(text("4\xc0\x80")), want: badUTF8},
		{name: "utf8 overlong three bytes", send: frames(text("4\xe0\x80\xaf")), want: badUTF8},
		{name: "utf8 surrogate", send: frames(text("4\xed\xa0\x80")), want: badUTF8},
		{name: "utf8 beyond U+10FFFF", send: frames(text("4\xf4\x90\x80\x80")), want: badUTF8},
		{name: "utf8 truncated at the end", send: frames(text("4ab\xce")), want: badUTF8},
		{name: "utf8 lone continuation byte", send: frames(text("4\x80")), want: badUTF8},
		{name: "utf8 code point split over fragments", send: frames(cframe(wsText, []byte("4\xce")), cframe(wsFin|wsCont, []byte("\xba"))), want: `text "4κ" | ok`},
		{name: "utf8 four bytes in four fragments", send: frames(cframe(wsText, []byte("4\xf0")), cframe(wsCont, []byte{0x9d}), cframe(wsCont, []byte{0x84}), cframe(wsFin|wsCont, []byte{0x9e})),
			want: `text "4𝄞" | ok`},
		{name: "utf8 invalid split over fragments", send: frames(cframe(wsText, []byte("4\xce")), cframe(wsFin|wsCont, []byte("A"))), want: badUTF8},
		{name: "utf8 truncated by the last fragment", send: frames(cframe(wsText, []byte("4ok")), cframe(wsFin|wsCont, []byte("\xf0\x9d"))), want: badUTF8},
		{name: "binary is not utf8-checked", send: frames(cframe(wsFin|wsBin, []byte{0xff, 0xc0, 0x80})), want: `binary ffc080 | ok`},

		// 7. Close: codes, payloads, the handshake.
		{name: "close without payload", send: frames(cframe(wsFin|wsClose, nil)), want: `close - | eof`},
		{name: "close 1000 with reason", send: frames(closeCode(1000, "bye")), want: fmt.Sprintf(echoClose, 1000)},
		{name: "close 1000 with 123-byte reason", send: frames(closeCode(1000, x(123))), want: fmt.Sprintf(echoClose, 1000)},
		{name: "close payload of 1 byte", send: frames(cframe(wsFin|wsClose, []byte{3})), want: failed},
		{name: "close reason invalid utf8", send: frames(closeCode(1000, "\xce\xba\xed\xa0\x80")), want: badUTF8,
			peers: map[string]string{
				// RFC 6455 5.5.1 and 8.1: the reason is UTF-8; invalid data
				// fails the connection with 1007. coder/websocket does not
				// check the reason and echoes the code.
				"coder": fmt.Sprintf(echoClose, 1000),
			}},
		{name: "text after close is ignored", send: frames(closeCode(1000, ""), text("4late")), want: fmt.Sprintf(echoClose, 1000)},
		{name: "ping after close is ignored", send: frames(closeCode(1000, ""), cframe(wsFin|wsPing, []byte("late"))), want: fmt.Sprintf(echoClose, 1000)},
		{name: "echo, then close", send: frames(text("4a"), nil, closeCode(1001, "")), want: `text "4a" | ` + fmt.Sprintf(echoClose, 1001)},

		// 8. Size limits: the message, not the frame, is bounded; a declared
		// length over the limit fails the connection before its payload comes.
		{name: "text at the limit", send: frames(text("4" + x(wsFrameLimit-1))), want: fmt.Sprintf("text len=%d | ok", wsFrameLimit)},
		{name: "text over the limit", send: frames(text("4" + x(wsFrameLimit))), want: tooBig},
		{name: "binary over the limit", send: frames(cframe(wsFin|wsBin, make([]byte, wsFrameLimit+1))), want: tooBig},
		{name: "fragments at the limit", send: frames(cframe(wsText, []byte("4"+x(499))), cframe(wsFin|wsCont, []byte(x(wsFrameLimit-500)))),
			want: fmt.Sprintf("text len=%d | ok", wsFrameLimit)},
		{name: "fragments over the limit", send: frames(cframe(wsText, []byte("4"+x(499))), cframe(wsFin|wsCont, []byte(x(wsFrameLimit-499)))), want: tooBig},
		{name: "declared 65535 bytes, none sent", send: frames(declared(wsFin|wsBin, 0xFFFF)), want: tooBig,
			peers: map[string]string{
				// coder/websocket reads a frame's payload up to the limit before
				// failing the message, so it waits for bytes that never come.
				// RFC 6455 10.4: an endpoint may refuse a frame whose size is
				// over its limit; ours does so on the header.
				"coder": "timeout",
			}},
		{name: "declared 2^40 bytes, none sent", send: frames(declared(wsFin|wsText, 1<<40)), want: tooBig,
			peers: map[string]string{"coder": "timeout"}},
		{name: "64-bit length with the top bit set", send: frames(declared(wsFin|wsBin, 1<<63|5)), want: failed,
			peers: map[string]string{
				// RFC 6455 5.2: the most significant bit of a 64-bit length MUST
				// be 0, a protocol error (1002). ws answers 1009 (it reads any
				// length over 2^53-1 as too big); coder/websocket returns an
				// error without a close frame, and our session closes normally.
				"ws":    tooBig,
				"coder": "close 1000 | eof",
			}},
	}

	// Close codes (RFC 6455 7.4): a valid code is echoed, an invalid one is a
	// protocol error. 1012-1014 are not in RFC 6455's text but in the IANA
	// registry it set up (11.7: service restart, try again later, bad
	// gateway): a peer may send them, and ws and coder/websocket echo them.
	// (Autobahn lists them neither as valid nor as invalid.) 1015 is for
	// reporting a TLS failure and must not be sent (7.4.1).
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, wsCase{name: "close code " + strconv.Itoa(code), send: frames(closeCode(code, "")), want: fmt.Sprintf(echoClose, code)})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, wsCase{name: "close code " + strconv.Itoa(code), send: frames(closeCode(code, "")), want: failed})
	}
	return cases
}

// wsFramingServers starts the four servers and returns their host:port.
func wsFramingServers(t *testing.T) map[string]string {
	t.Helper()
	opts := func(deflate bool) *engineio.ServerOptions {
		return &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute,
			MaxHTTPBufferSize: wsFrameLimit, PerMessageDeflate: deflate}
	}
	push := func(s *engineio.Session) {
		s.Receive(func(m engineio.Message) { s.Send(m) }, func(error) {})
	}
	host := func(d *eioDriver) string {
		return strings.TrimSuffix(strings.TrimPrefix(d.base, "http://"), "/engine.io/")
	}

	port := testutil.FreePort(t)
	node := testutil.StartNode(t, "conformance/node/eio_server.js", strconv.Itoa(port),
		fmt.Sprintf(`{"pingInterval":60000,"pingTimeout":60000,"maxHttpBufferSize":%d}`, wsFrameLimit))
	node.WaitLine(t, "listening", 10*time.Second)
	return map[string]string{
		"corvid":      host(startEIO(t, eioEchoHandler, opts(false))),
		"corvid-push": host(startEIO(t, push, opts(false))),
		"coder":       host(startEIO(t, eioEchoHandler, opts(true))),
		"ws":          "127.0.0.1:" + strconv.Itoa(port),
	}
}

// TestWebSocketFramingDifferential runs every case against every server.
func TestWebSocketFramingDifferential(t *testing.T) {
	servers := wsFramingServers(t)
	cases := wsFramingCases()
	for _, name := range []string{"corvid", "corvid-push", "coder", "ws"} {
		addr := servers[name]
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					got := runWSCase(t, addr, c)
					want, peer := c.want, false
					if w, ok := c.peers[name]; ok {
						want, peer = w, true
					}
					switch {
					case got == want:
					case peer && got == c.want:
						t.Errorf("%s now gives the RFC outcome %q: drop its deviation note", name, got)
					case peer:
						t.Errorf("got  %q\nwant %q (this peer's noted deviation; RFC 6455: %q)", got, want, c.want)
					default:
						t.Errorf("got  %q\nwant %q", got, want)
					}
				})
			}
		})
	}
}

// wsCaseDeadline bounds a case: what has not come by then is "timeout".
const wsCaseDeadline = 2 * time.Second

// runWSCase opens an Engine.IO WebSocket session on addr, sends the case's
// frames, and returns what the server did.
func runWSCase(t *testing.T, addr string, c wsCase) string {
	conn, br := testutil.RawWebSocket(t, addr, "/engine.io/")
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wsCaseDeadline))
	sentClose := false
	var events []string
	for _, f := range c.send {
		if f == nil {
			ev, done := readWSEvent(conn, br, &sentClose, !c.lateAnswer)
			events = append(events, ev)
			if done {
				return strings.Join(events, " | ")
			}
			continue
		}
		if len(f) > 0 && f[0]&0x0F == wsClose {
			sentClose = true
		}
		if !c.split {
			conn.Write(f) // a write error shows as the outcome
			continue
		}
		for i := range f {
			if _, err := conn.Write(f[i : i+1]); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	if !sentClose {
		conn.Write(text("4end"))
	}
	if c.lateAnswer && !sentClose {
		if last := events[len(events)-1]; strings.HasPrefix(last, "close ") {
			var answer []byte
			if code, err := strconv.Atoi(strings.TrimPrefix(last, "close ")); err == nil {
				answer = binary.BigEndian.AppendUint16(nil, uint16(code))
			}
			conn.Write(cframe(wsFin|wsClose, answer))
			sentClose = true
		}
	}
	for {
		ev, done := readWSEvent(conn, br, &sentClose, !c.lateAnswer)
		if ev == "4end" {
			ev = "ok"
		}
		events = append(events, ev)
		if done || ev == "ok" {
			return strings.Join(events, " | ")
		}
	}
}

// readWSEvent reads the next server frame and describes it; done is true
// when the connection ended (the sentinel's echo is returned as "4end").
// With answer, the server's close frame is answered (unless the client sent
// one) and the client half-closes.
func readWSEvent(conn net.Conn, br *bufio.Reader, sentClose *bool, answer bool) (event string, done bool) {
	op, payload, err := readServerFrame(br)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isReset(err):
			return "eof", true
		case errors.As(err, &ne) && ne.Timeout():
			return "timeout", true
		}
		return "error " + err.Error(), true
	}
	switch op {
	case wsText:
		if string(payload) == "4end" {
			return "4end", false
		}
		return "text " + describe(payload, true), false
	case wsBin:
		return "binary " + describe(payload, false), false
	case wsPong:
		return "pong " + describe(payload, true), false
	case wsClose:
		code := "-"
		if len(payload) >= 2 {
			code = strconv.Itoa(int(binary.BigEndian.Uint16(payload)))
		}
		event = "close " + code
		// Answer (RFC 6455 5.5.1), then end our side: some servers close
		// the TCP connection at once, others when the client has (RFC
		// 6455 7.1.1 leaves the order open).
		if !answer {
			return event, false
		}
		if !*sentClose {
			var answer []byte
			if len(payload) >= 2 {
				answer = payload[:2]
			}
			conn.Write(cframe(wsFin|wsClose, answer))
			*sentClose = true
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		return event, false
	}
	return fmt.Sprintf("opcode %d %q", op, payload), false
}

// describe formats a payload: quoted (text) or hex (binary), and by its
// length when long.
func describe(p []byte, quoted bool) string {
	switch {
	case len(p) > 40:
		return "len=" + strconv.Itoa(len(p))
	case quoted:
		return strconv.Quote(string(p))
	case len(p) == 0:
		return "(empty)"
	}
	return hex.EncodeToString(p)
}

// readServerFrame reads one server frame (unmasked; a masked or fragmented
// server frame is reported as an error, which fails the case).
func readServerFrame(br *bufio.Reader) (op byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return 0, nil, err
	}
	if hdr[0]&0x80 == 0 || hdr[0]&0x70 != 0 || hdr[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("unexpected server frame header %x", hdr)
	}
	n := uint64(hdr[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, fmt.Errorf("server frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, nil, err
	}
	return hdr[0] & 0x0F, payload, nil
}

// isReset reports a connection reset by the server (it closed with our bytes
// unread): the connection ended, as EOF.
func isReset(err error) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && strings.Contains(se.Error(), "reset")
}

// TestWebSocketNothingAfterClose: RFC 6455 5.5.1, "after sending a Close
// frame, the endpoint MUST NOT send any more data frames". A message and a
// bad one arrive together, so the echo of the first is being written (or
// queued) when the second fails the connection: the echo may come before the
// close frame or not at all, never after it. A race, so the case is repeated
// (a bounded number of connections per server).
func TestWebSocketNothingAfterClose(t *testing.T) {
	const rounds = 200
	servers := wsFramingServers(t)
	stream := append(cframe(wsFin|wsBin, make([]byte, 48)), text("4\xff")...)
	for _, name := range []string{"corvid", "corvid-push", "coder", "ws"} {
		addr := servers[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]int{}
			for range rounds {
				seen[runWSStream(t, addr, stream)]++
			}
			for got, n := range seen {
				if got != "binary len=48 | close 1007 | eof" && got != "close 1007 | eof" {
					t.Errorf("%d of %d connections: %q", n, rounds, got)
				}
			}
		})
	}
}

// runWSStream writes stream in one write on a new session and returns what
// the server did, until the connection ended.
func runWSStream(t *testing.T, addr string, stream []byte) string {
	conn, br := testutil.RawWebSocket(t, addr, "/engine.io/")
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(wsCaseDeadline))
	conn.Write(stream)
	var events []string
	sentClose := false
	for {
		ev, done := readWSEvent(conn, br, &sentClose, true)
		events = append(events, ev)
		if done {
			return strings.Join(events, " | ")
		}
	}
}
