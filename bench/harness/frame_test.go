package harness

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"testing"
)

// serverFrame builds a frame as a server (or, masked, a client) sends it.
func serverFrame(op byte, payload []byte, masked bool) []byte {
	f := []byte{0x80 | op}
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, m|byte(n))
	case n <= 0xFFFF:
		f = append(f, m|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, m|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{1, 2, 3, 4}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}

// TestFrameParsing: the load generator's two frame readers (the buffered one
// of wsConn and the reactor's) agree on 7-, 16- and 64-bit lengths, masked
// or not, and a header or payload cut short is no frame yet.
func TestFrameParsing(t *testing.T) {
	for _, size := range []int{0, 5, 125, 126, 300, 70000} {
		for _, masked := range []bool{false, true} {
			payload := bytes.Repeat([]byte{'x'}, size)
			f := serverFrame(0x1, payload, masked)
			fin, op, masked2, _, n, h := frameHeader(f)
			if !fin || op != 0x1 || masked2 != masked || n != uint64(size) || h != len(f)-size {
				t.Fatalf("size %d masked %v: header %v %x %v %d %d", size, masked, fin, op, masked2, n, h)
			}
			if _, _, _, _, _, h := frameHeader(f[:h-1]); h != 0 {
				t.Fatalf("size %d masked %v: a cut header parsed (%d)", size, masked, h)
			}
			if size > 0 {
				if _, _, _, used := parseFrameCopy(f[:len(f)-1]); used != 0 {
					t.Fatalf("size %d masked %v: a cut payload parsed", size, masked)
				}
			}
			_, _, p, used := parseFrameCopy(f)
			if used != len(f) || !bytes.Equal(p, payload) {
				t.Fatalf("size %d masked %v: used %d of %d, payload ok %v", size, masked, used, len(f), bytes.Equal(p, payload))
			}
			// The buffered reader returns the same message.
			a, b := net.Pipe()
			go func() { b.Write(f); b.Close() }()
			c := &wsConn{conn: a, br: bufio.NewReader(a)}
			var buf bytes.Buffer
			op, got, err := c.read(&buf)
			a.Close()
			if err != nil || op != 0x1 || !bytes.Equal(got, payload) {
				t.Fatalf("size %d masked %v: read %x %d bytes %v", size, masked, op, len(got), err)
			}
		}
	}
}

// parseFrameCopy is parseServerFrame on a copy (it unmasks in place).
func parseFrameCopy(b []byte) (bool, byte, []byte, int) {
	return parseServerFrame(append([]byte(nil), b...))
}
