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

// The refusal of an answer too large: the ordinary answer with an empty list
// (what Node reads) plus "replyTooLarge", decoded back by Corvid.
func TestTooLarge(t *testing.T) {
	tl := &TooLarge{UID: "srv", Size: 5000, Limit: 4096}
	const ext = `"replyTooLarge":{"uid":"srv","size":5000,"limit":4096}}`
	for _, c := range []struct {
		t    RequestType
		want string
	}{
		{RemoteFetch, `{"requestId":"r1","sockets":[],` + ext},
		{Sockets, `{"requestId":"r1","sockets":[],` + ext},
		{AllRooms, `{"requestId":"r1","rooms":[],` + ext},
		{ServerSideEmit, `{"type":6,"requestId":"r1","data":null,` + ext},
	} {
		b, err := AppendTooLarge(nil, c.t, "r1", tl)
		if err != nil || string(b) != c.want {
			t.Fatalf("type %d: %s %v, want %s", c.t, b, err, c.want)
		}
		r, err := DecodeResponse(b)
		if err != nil || r.RequestID != "r1" || r.TooLarge == nil || *r.TooLarge != *tl {
			t.Fatalf("type %d: decoded %+v %v", c.t, r, err)
		}
	}
	if _, err := AppendTooLarge(nil, BroadcastAck, "r1", tl); err == nil {
		t.Fatal("a refusal of a broadcast ack")
	}
	if r, err := DecodeResponse([]byte(`{"requestId":"r1","sockets":[]}`)); err != nil || r.TooLarge != nil {
		t.Fatalf("ordinary answer: %+v %v", r, err)
	}
	for _, m := range []*ClusterMessage{
		{Type: MsgFetchSocketsResponse, UID: "srv", Nsp: "/", RequestID: "r2", TooLarge: tl},
		{Type: MsgServerSideEmitResponse, UID: "srv", Nsp: "/", RequestID: "r2", TooLarge: tl},
	} {
		for _, enc := range []func([]byte, *ClusterMessage) ([]byte, error){AppendClusterMessage, AppendClusterMessageMsgpack} {
			b, err := enc(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeClusterMessage(b)
			if err != nil || got.TooLarge == nil || *got.TooLarge != *tl || got.RequestID != "r2" {
				t.Fatalf("type %d: %q decoded %+v %v", m.Type, b, got, err)
			}
		}
	}
	b, _ := AppendClusterMessage(nil, &ClusterMessage{Type: MsgFetchSocketsResponse, UID: "srv", Nsp: "/", RequestID: "r2", TooLarge: tl})
	if want := `{"type":8,"data":{"requestId":"r2","sockets":[],` + ext + `,"uid":"srv","nsp":"/"}`; string(b) != want {
		t.Fatalf("fetch refusal %s, want %s", b, want)
	}
}
