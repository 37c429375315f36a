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

// Found by FuzzRedisWire: a cluster message whose data held a msgpack
// extension value was written as JSON, where the extension became an object
// whose key order changed on the next round (unstable). Such values now go
// out in msgpack, like binary.
func TestClusterMessageExtStable(t *testing.T) {
	in := []byte("\x84\xa4type\x09\xa4data\x81\xa6packet\x92\x30\xd4\x30\x30\xa3uid\xa0\xa3nsp\xa0")
	m, err := DecodeClusterMessage(in)
	if err != nil {
		t.Fatal(err)
	}
	first, err := AppendClusterMessage(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) > 0 && first[0] == '{' {
		t.Fatalf("encoded as JSON: %q", first)
	}
	m2, err := DecodeClusterMessage(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := AppendClusterMessage(nil, m2)
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != string(second) {
		t.Fatalf("unstable:\n%q\n%q", first, second)
	}
}
