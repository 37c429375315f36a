package engineio_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// FuzzWebSocketFrames drives the server's WebSocket frame reader through its
// public entry point: a real loopback connection to an echo server, upgraded
// by hand, then a stream of masked client frames the input describes (every
// opcode, reserved bits, fragmentation with control frames in between,
// UTF-8 split anywhere, close payloads, lengths in every encoding, over the
// message limit, written in pieces). An independent model of RFC 6455 gives
// what the server must do, and the test compares:
//
//   - the echoed messages are the model's, in order (a prefix of them when
//     the connection fails or the client closes, since messages still
//     queued then may be dropped), and so are the pongs;
//   - the server's close frame carries the model's code (when a frame breaks
//     several rules, any of their codes), and nothing follows it;
//   - the server closes the TCP connection once the closing handshake is done,
//     within a deadline (a reader stuck on a frame is a failure);
//   - when the stream ends with the connection open, every message and pong
//     came back before the client's close.
//
// Input: byte 0 selects the server (bit 0: Session.Read or Session.Receive);
// then each frame is 3 bytes (flags, length, shape) and its payload.
func FuzzWebSocketFrames(f *testing.F) {
	hosts := [2]string{
		startFuzzServer(f, func(s *engineio.Session) {
			for {
				m, err := s.Read(s.Context())
				if err != nil || s.Send(m) != nil {
					return
				}
			}
		}),
		startFuzzServer(f, func(s *engineio.Session) {
			s.Receive(func(m engineio.Message) { s.Send(m) }, func(error) {})
		}),
	}
	for _, seed := range fuzzFrameSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 || len(in) > 4096 {
			return
		}
		stream, chunks, m := buildFrames(in[1:])
		got := runFrames(t, hosts[in[0]&1], stream, chunks, m)
		if msg := m.check(got); msg != "" {
			t.Fatalf("%s\nframes: %s\nmodel: %+v\nserver: %+v", msg, m.trace, m, got)
		}
	})
}

// fuzzLimit is the server's message limit (MaxHTTPBufferSize); above 125 so
// that a control frame is never over it, below 255 so that a frame is.
const fuzzLimit = 200

func startFuzzServer(f *testing.F, handler func(*engineio.Session)) string {
	srv := engineio.NewServer(handler, &engineio.ServerOptions{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxHTTPBufferSize: fuzzLimit,
	})
	hs := httptest.NewServer(srv)
	f.Cleanup(func() {
		srv.Shutdown(f.Context())
		hs.CloseClientConnections()
		hs.Close()
	})
	return strings.TrimPrefix(hs.URL, "http://")
}

// Opcodes and the flags of the first header byte.
const (
	fzCont, fzText, fzBin            = 0x0, 0x1, 0x2
	fzClose, fzPing, fzPong          = 0x8, 0x9, 0xA
	fzFin, fzRSV1, fzRSV2            = 0x80, 0x40, 0x20
	fzRSV3                           = 0x10
	fzProtocolError, fzTooBig        = 1002, 1009
	fzInvalidData, fzNormal          = 1007, 1000
	fzNoCode                         = -1 // a close frame without a code
	fzStillOpen                      = 0  // the model's connection is open
	fzFrameHeader                    = 3  // input bytes per frame before its payload
	fzMaskKey                 uint32 = 0x9a3c51e7
)

// fzOps maps 4 bits of input to an opcode, valid ones more often.
var fzOps = [16]byte{fzText, fzText, fzBin, fzBin, fzCont, fzCont, fzCont, fzPing,
	fzPing, fzPong, fzClose, fzClose, 0x3, 0xB, fzText, fzCont}

// frameModel is what RFC 6455 requires of the server for a stream.
type frameModel struct {
	echoes []string // "t:..." or "b:...", in order
	pongs  []string
	// end: fzStillOpen, or the close code the server must send (fzNoCode for
	// an empty close frame); codes lists every acceptable one.
	end   int
	codes []int
	// failed: the server fails the connection (end is its code); otherwise a
	// close by the client is echoed.
	failed bool
	// early1007: a text message became invalid UTF-8 before it ended, so
	// 1007 is also acceptable from then on (with a prefix of the echoes).
	early1007 bool
	trace     []string // the frames, for the failure message
}

// buildFrames turns input into client frames, the write boundaries, and the
// model's verdict.
func buildFrames(in []byte) (stream []byte, chunks []int, m *frameModel) {
	m = &frameModel{}
	var msgOp byte // the opcode of the fragmented message in progress
	var msg []byte // its bytes so far
	fail := func(codes ...int) { m.end, m.codes, m.failed = codes[0], codes, true }
	for len(in) >= fzFrameHeader {
		flags, n, shape := in[0], int(in[1]), in[2]
		in = in[fzFrameHeader:]
		n = min(n, len(in))
		payload := in[:n]
		in = in[n:]

		op := fzOps[flags&0x0F]
		b0 := op
		if flags&0x80 == 0 { // FIN, unless the top bit is set
			b0 |= fzFin
		}
		if flags&0x70 == 0x70 { // reserved bits, rarely
			b0 |= [3]byte{fzRSV1, fzRSV2, fzRSV3}[int(shape>>6)%3]
		}
		fin := b0&fzFin != 0
		if op == fzText {
			// The first frame of a text message carries an Engine.IO message
			// packet: "4" and the payload.
			payload = append([]byte{'4'}, payload...)
		}
		start := len(stream)
		stream = appendClientFrame(stream, b0, payload, shape&3)
		if cut := int(shape>>2) & 0x0F; cut > 0 && cut < len(stream)-start {
			chunks = append(chunks, start+cut) // written in two pieces
		}
		chunks = append(chunks, len(stream))
		m.trace = append(m.trace, fmt.Sprintf("%02x/%d%q", b0, len(payload), truncate(payload)))

		if m.end != fzStillOpen {
			continue // the server reads no more
		}
		if msgOp == fzText && !utf8Prefix(msg) {
			// The message in progress can no longer be valid UTF-8: a server
			// that checks text as it arrives (RFC 6455 8.1 allows both) may
			// have failed the connection with 1007 by now.
			m.early1007 = true
		}
		// The rules a frame may break, with their codes; when a frame breaks
		// several, which one a server reports is its choice.
		var broken []int
		control := op >= 0x8
		switch {
		case b0&0x70 != 0:
			broken = append(broken, fzProtocolError)
		case op != fzCont && op != fzText && op != fzBin && !control || op > fzPong:
			broken = append(broken, fzProtocolError)
		case control && (!fin || len(payload) > 125 || shape&3 == 1 || shape&3 == 2):
			// Over 125 bytes, or a longer length encoding than needed (RFC
			// 6455 5.2 requires the shortest; a reader sees 126 or 127 where
			// a control frame's length must be at most 125).
			broken = append(broken, fzProtocolError)
		case !control && op != fzCont && msgOp != 0, op == fzCont && msgOp == 0:
			broken = append(broken, fzProtocolError)
		}
		if len(payload) > fuzzLimit {
			broken = append(broken, fzTooBig)
		}
		if len(broken) > 0 {
			fail(broken...)
			continue
		}
		switch op {
		case fzPing:
			m.pongs = append(m.pongs, string(payload))
		case fzPong:
		case fzClose:
			switch {
			case len(payload) == 0:
				m.end, m.codes = fzNoCode, []int{fzNoCode}
			case len(payload) == 1:
				fail(fzProtocolError)
			case !validCode(int(binary.BigEndian.Uint16(payload))):
				fail(fzProtocolError)
			case !utf8.Valid(payload[2:]):
				fail(fzInvalidData)
			default:
				code := int(binary.BigEndian.Uint16(payload))
				m.end, m.codes = code, []int{code}
			}
			if len(payload) >= 2 {
				if code := int(binary.BigEndian.Uint16(payload)); code >= 1012 && code <= 1014 {
					// Registered after RFC 6455 (IANA): echoed by ws and
					// coder/websocket, refused by some servers. The strict
					// verdict is the differential suite's (conformance/).
					m.codes = append(m.codes, fzProtocolError)
				}
			}
		default:
			if op != fzCont {
				msgOp, msg = op, nil
			}
			if len(msg)+len(payload) > fuzzLimit {
				fail(fzTooBig)
				continue
			}
			msg = append(msg, payload...)
			if !fin {
				continue
			}
			if msgOp == fzText && !utf8.Valid(msg) {
				fail(fzInvalidData)
				continue
			}
			kind := "b:"
			if msgOp == fzText {
				kind = "t:"
			}
			m.echoes = append(m.echoes, kind+string(msg))
			msgOp, msg = 0, nil
		}
	}
	return stream, chunks, m
}

// validCode reports whether a close code may be sent by a peer: RFC 6455
// 7.4.1, the codes registered since (1012-1014), and 3000-4999.
func validCode(c int) bool {
	return c >= 1000 && c <= 1003 || c >= 1007 && c <= 1014 || c >= 3000 && c <= 4999
}

// utf8Prefix reports whether b can still become valid UTF-8 by appending bytes.
func utf8Prefix(b []byte) bool {
	for k := 0; k <= 3 && k <= len(b); k++ {
		if !utf8.Valid(b[:len(b)-k]) {
			continue
		}
		if k == 0 || completes(b[len(b)-k:], 4-k) {
			return true
		}
	}
	return false
}

// completes reports whether tail, an incomplete sequence, becomes a valid
// rune with at most left more bytes (continuation bytes from each range a
// second byte may need).
func completes(tail []byte, left int) bool {
	if utf8.Valid(tail) && utf8.FullRune(tail) {
		return true
	}
	if left == 0 {
		return false
	}
	for _, c := range []byte{0x80, 0x90, 0xA0, 0xBF} {
		if completes(append(slices.Clip(tail), c), left-1) {
			return true
		}
	}
	return false
}

func truncate(p []byte) []byte {
	if len(p) > 12 {
		return p[:12]
	}
	return p
}

// appendClientFrame appends a masked frame; shape picks the length encoding
// (0, 3: the shortest; 1: 16-bit; 2: 64-bit). A longer encoding than needed
// is accepted in a data frame (as ws and coder/websocket do) and fails a
// control frame.
func appendClientFrame(b []byte, b0 byte, payload []byte, shape byte) []byte {
	b = append(b, b0)
	n := len(payload)
	switch {
	case shape == 2 || n > 0xFFFF:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	case shape == 1 || n > 125:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|byte(n))
	}
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], fzMaskKey)
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

// observed is what the server did.
type observed struct {
	echoes []string
	pongs  []string
	close  int  // the code of its close frame, fzNoCode, or fzStillOpen for none
	eof    bool // it closed the TCP connection
	extra  string
}

const fuzzDeadline = 5 * time.Second

// runFrames writes the stream in its chunks and reads what the server does;
// when the model leaves the connection open it waits for every answer and
// then closes it with 1000.
func runFrames(t *testing.T, host string, stream []byte, chunks []int, m *frameModel) observed {
	conn, br := testutil.RawWebSocket(t, host, "/engine.io/")
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(fuzzDeadline))
	prev := 0
	for _, c := range chunks {
		if _, err := conn.Write(stream[prev:c]); err != nil {
			break // the server failed the connection: read what it said
		}
		prev = c
	}
	var o observed
	sentClose := m.end != fzStillOpen && !m.failed
	if m.end == fzStillOpen {
		for o.close == fzStillOpen && (len(o.echoes) < len(m.echoes) || len(o.pongs) < len(m.pongs)) {
			if !o.read(br) {
				return o
			}
		}
		if o.close == fzStillOpen {
			conn.Write(appendClientFrame(nil, fzFin|fzClose, binary.BigEndian.AppendUint16(nil, fzNormal), 0))
			sentClose = true
		}
	}
	for {
		if o.close != fzStillOpen && !sentClose {
			// Answer the server's close (RFC 6455 5.5.1), and end our side
			// of the TCP connection: after failing in the middle of a frame
			// the server may take the rest of it for frames and miss our
			// close frame (conformance/ws_framing_test.go has that case);
			// here the end of the stream must close the connection at once.
			var code []byte
			if o.close != fzNoCode {
				code = binary.BigEndian.AppendUint16(nil, uint16(o.close))
			}
			conn.Write(appendClientFrame(nil, fzFin|fzClose, code, 0))
			sentClose = true
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
		}
		if !o.read(br) {
			return o
		}
	}
}

// read reads one server frame into o; false at the end of the connection.
func (o *observed) read(br *bufio.Reader) bool {
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			o.extra += " timeout"
		case errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset"):
			o.eof = true
		default:
			o.extra += " " + err.Error()
		}
		return false
	}
	if hdr[0]&0x70 != 0 || hdr[0]&0x80 == 0 || hdr[1]&0x80 != 0 {
		o.extra += fmt.Sprintf(" bad server frame header %x", hdr)
		return false
	}
	n := int(hdr[1] & 0x7F)
	if n == 126 {
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			o.extra += " cut header"
			return false
		}
		n = int(binary.BigEndian.Uint16(b[:]))
	} else if n == 127 {
		o.extra += " 64-bit server frame"
		return false
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		o.extra += " cut frame"
		return false
	}
	if o.close != fzStillOpen {
		o.extra += fmt.Sprintf(" frame %x after the close frame", hdr[0])
		return false
	}
	switch op := hdr[0] & 0x0F; op {
	case fzText:
		o.echoes = append(o.echoes, "t:"+string(p))
	case fzBin:
		o.echoes = append(o.echoes, "b:"+string(p))
	case fzPong:
		o.pongs = append(o.pongs, string(p))
	case fzClose:
		o.close = fzNoCode
		if len(p) >= 2 {
			o.close = int(binary.BigEndian.Uint16(p))
		}
	default:
		o.extra += fmt.Sprintf(" opcode %d", op)
		return false
	}
	return true
}

// check compares what the server did with the model; "" when it conforms.
func (m *frameModel) check(o observed) string {
	if o.extra != "" {
		return "server:" + o.extra
	}
	if !o.eof {
		return "the server did not close the TCP connection"
	}
	prefixOf := func(got, want []string) bool {
		return len(got) <= len(want) && slices.Equal(got, want[:len(got)])
	}
	switch {
	case o.close == fzInvalidData && m.early1007:
		if !prefixOf(o.echoes, m.echoes) || !prefixOf(o.pongs, m.pongs) {
			return "the echoes or pongs are not a prefix of the model's"
		}
	case m.end == fzStillOpen:
		if !slices.Equal(o.echoes, m.echoes) || !slices.Equal(o.pongs, m.pongs) {
			return "the echoes or pongs differ"
		}
		if o.close != fzNormal {
			return fmt.Sprintf("closed with %d, want the client's 1000 echoed", o.close)
		}
	default:
		if !prefixOf(o.echoes, m.echoes) || !prefixOf(o.pongs, m.pongs) {
			return "the echoes or pongs are not a prefix of the model's"
		}
		if !slices.Contains(m.codes, o.close) {
			return fmt.Sprintf("closed with %d, want one of %v", o.close, m.codes)
		}
	}
	return ""
}

// fuzzFrameSeeds are inputs covering each rule, for the seed corpus (run by
// plain go test too).
func fuzzFrameSeeds() [][]byte {
	fr := func(flags, shape byte, payload string) []byte {
		return append([]byte{flags, byte(len(payload)), shape}, payload...)
	}
	cat := func(parts ...[]byte) []byte {
		out := []byte{0}
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	push := func(b []byte) []byte { c := slices.Clone(b); c[0] = 1; return c }
	// flags low nibble: 0 text, 2 binary, 4 continuation, 7 ping, 9 pong,
	// 10 close, 12 opcode 3, 13 opcode 0xB; 0x80: not FIN; 0x70: reserved bit.
	seeds := [][]byte{
		cat(fr(0, 0, "hello")),
		cat(fr(2, 1, "\x00\xff"), fr(0, 2, "x")),
		cat(fr(0x80, 0x14, "he"), fr(7, 0, "p"), fr(4, 0x08, "llo")),
		cat(fr(0x80, 0, "\xce"), fr(4, 0, "\xba")),
		cat(fr(0x80, 0, "\xce"), fr(4, 0, "A")),
		cat(fr(0, 0, "\xed\xa0\x80")),
		cat(fr(0x70, 0x40, "x")),
		cat(fr(12, 0, "")),
		cat(fr(13, 0, "")),
		cat(fr(0x87, 0, "p")),
		cat(fr(9, 0, "u"), fr(0, 0, "after pong")),
		cat(fr(10, 0, "\x03\xe8bye"), fr(0, 0, "late")),
		cat(fr(10, 0, "\x03\xed")),
		cat(fr(10, 0, "\x03")),
		cat(fr(10, 0, "\x03\xe8\xff")),
		cat(fr(10, 0, "")),
		cat(fr(4, 0, "orphan")),
		cat(fr(0x80, 0, "a"), fr(0, 0, "b")),
		cat(fr(0, 1, strings.Repeat("x", 199))),
		cat(fr(0, 0, strings.Repeat("x", 200))),
		cat(fr(0x80, 0, strings.Repeat("x", 150)), fr(4, 0, strings.Repeat("y", 60))),
		cat(fr(7, 0, strings.Repeat("p", 126))),
	}
	for _, s := range seeds[:4] {
		seeds = append(seeds, push(s))
	}
	return seeds
}
