package ws

import "encoding/binary"

// ClientFrame returns a client frame (for tests): b0 holds FIN, RSV and the
// opcode; masked frames have a fixed key.
func ClientFrame(b0 byte, payload []byte, masked bool) []byte {
	f := []byte{b0}
	mask := byte(0)
	if masked {
		mask = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		f = append(f, mask|byte(n))
	case n <= 0xFFFF:
		f = append(f, mask|126, byte(n>>8), byte(n))
	default:
		f = append(f, mask|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i&3])
	}
	return f
}
