package wire

import "testing"

// Found by FuzzRedisWire: a packet whose nsp is "" decoded into a packet that
// encodes without nsp, which decodes back as "/" (unstable). Node drops such a
// packet (no namespace is named ""); the decoder refuses it.
func TestDecodeBroadcastEmptyNsp(t *testing.T) {
	in := []byte("\x93\xa1u\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa0\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80")
	if b, err := DecodeBroadcast(in); err == nil {
		t.Fatalf("decoded %+v, want an error", b)
	}
	ok := []byte("\x93\xa1u\x83\xa4type\x02\xa4data\x91\xa1x\xa3nsp\xa1/\x83\xa5rooms\x90\xa6except\x90\xa5flags\x80")
	b, err := DecodeBroadcast(ok)
	if err != nil || b.Packet.Nsp != "/" {
		t.Fatalf("DecodeBroadcast = %+v, %v", b, err)
	}
}
