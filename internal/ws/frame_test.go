package ws

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
	"unsafe"
)

func TestAppendFrameHeader(t *testing.T) {
	cases := []struct {
		op   byte
		n    int
		want []byte
	}{
		{opText, 0, []byte{0x81, 0}},
		{opText, 125, []byte{0x81, 125}},
		{opBinary, 126, []byte{0x82, 126, 0, 126}},
		{opText, 65535, []byte{0x81, 126, 0xff, 0xff}},
		{opBinary, 65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, c := range cases {
		if got := appendFrameHeader(nil, c.op, c.n); !bytes.Equal(got, c.want) {
			t.Errorf("appendFrameHeader(%d, %d) = %x, want %x", c.op, c.n, got, c.want)
		}
	}
	b := append(make([]byte, maxFrameHeader), "4hello"...)
	if got := frameInPlace(b, opText); !bytes.Equal(got, []byte("\x81\x064hello")) {
		t.Errorf("frameInPlace = %q", got)
	}
}

func TestParseFrameIncomplete(t *testing.T) {
	f := ClientFrame(0x82, bytes.Repeat([]byte{7}, 300), true)
	for i := range len(f) {
		_, n, need, err := parseFrame(append([]byte(nil), f[:i]...), 1000)
		if err != nil || n != 0 || need <= i || need > len(f) {
			t.Fatalf("prefix %d: n %d need %d err %v", i, n, need, err)
		}
	}
	fr, n, _, err := parseFrame(append([]byte(nil), f...), 1000)
	if err != nil || n != len(f) || !fr.fin || fr.op != opBinary || !bytes.Equal(fr.payload, bytes.Repeat([]byte{7}, 300)) {
		t.Fatalf("whole frame: %v %d %v", fr, n, err)
	}
}

// TestCorkWriterNothingAfterClose: once our close frame is written, no frame
// follows it (RFC 6455 5.5.1), whichever write path the session writer takes
// and whether it had gathered a batch; what was gathered before goes first.
func TestCorkWriterNothingAfterClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	var hdr [maxFrameHeader]byte
	gathered := append(appendFrameHeader(nil, opText, 2), "4a"...)
	closeFrame := []byte{0x80 | opClose, 2, 0x03, 0xEA}

	w := &corkWriter{conn: server}
	w.setCorked(true)
	w.Write(gathered)
	if sent, err := w.writeClose(closeFrame); !sent || err != nil {
		t.Fatalf("writeClose: sent %v, err %v", sent, err)
	}
	w.Write(append(appendFrameHeader(nil, opText, 2), "4b"...))
	w.writeFrame(appendFrameHeader(hdr[:0], opBinary, 3), []byte{1, 2, 3})
	w.writeNow([]byte{0x80 | opPong, 0})
	if err := w.setCorked(false); err != nil {
		t.Fatal(err)
	}
	if sent, _ := w.writeClose(closeFrame); sent {
		t.Fatal("a second close frame was written")
	}
	server.Close()

	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(gathered, closeFrame...); !bytes.Equal(got, want) {
		t.Fatalf("the peer read % x, want % x", got, want)
	}
}

// TestValidCloseCode: RFC 6455 7.4's codes, 1012-1014 from the IANA registry
// (11.7), and 3000-4999 are accepted; the reserved and unassigned ones not.
func TestValidCloseCode(t *testing.T) {
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999} {
		if !validCloseCode(code) {
			t.Errorf("%d refused", code)
		}
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535} {
		if validCloseCode(code) {
			t.Errorf("%d accepted", code)
		}
	}
}

func TestCanHijack(t *testing.T) {
	if canHijack(httptest.NewRecorder()) {
		t.Error("a ResponseRecorder cannot be hijacked")
	}
}

// BenchmarkWSSmallFrames parses 64 KiB of empty pong frames (6 bytes each)
// read at once: the work per byte must not grow with the bytes buffered.
func BenchmarkWSSmallFrames(b *testing.B) {
	pong := []byte{0x80 | opPong, 0x80, 1, 2, 3, 4}
	src := bytes.Repeat(pong, (64<<10)/len(pong))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		buf := append(make([]byte, 0, len(src)), src...)
		c := &ownConn{opts: &Options{Limit: 1e6}}
		c.rb = &buf
		res, _, _, _, err := c.next()
		if res != wsNeedMore || err != nil || c.rb != nil {
			b.Fatalf("%v %v", res, err)
		}
	}
}

// TestUnmask: the word-wise unmask equals RFC 6455's byte-wise definition for
// every length up to a few words and every start within a word.
func TestUnmask(t *testing.T) {
	key := [4]byte{0x9a, 0x3c, 0x51, 0xe7}
	for n := 0; n <= 100; n++ {
		for off := 0; off < 8; off++ {
			buf := make([]byte, off+n)
			for i := range buf {
				buf[i] = byte(i*31 + n)
			}
			want := slices.Clone(buf[off:])
			for i := range want {
				want[i] ^= key[i%4]
			}
			unmask(buf[off:], binary.LittleEndian.Uint32(key[:]))
			if !bytes.Equal(buf[off:], want) {
				t.Fatalf("length %d at %d: %x, want %x", n, off, buf[off:], want)
			}
		}
	}
}

// BenchmarkParseFrame64K: parsing (and unmasking) one 64 KiB binary frame, as
// the binary benchmark scenario sends.
func BenchmarkParseFrame64K(b *testing.B) {
	payload := make([]byte, 64<<10)
	frame := ClientFrame(0x80|opBinary, payload, true)
	buf := make([]byte, len(frame))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame)
		if _, n, _, err := parseFrame(buf, 1<<20); err != nil || n != len(frame) {
			b.Fatal(n, err)
		}
	}
}

// TestOwnConnSize: an idle connection's ownConn stays a 288-byte allocation
// on 64-bit platforms (the benchmark's idle rows count it per connection);
// a field added in the wrong place moves it to the next size class.
func TestOwnConnSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes counted for 64-bit platforms")
	}
	if n := unsafe.Sizeof(ownConn{}); n > 288 {
		t.Fatalf("ownConn is %d bytes, more than 288", n)
	}
}
