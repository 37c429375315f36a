package fuzz

import (
	"bytes"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/msgpack"
	"github.com/corvid-io/corvid/parser"
)

// heapBytesPerInputByte bounds what one decode may allocate: the generic tree of
// a msgpack value costs at most a few dozen bytes of heap per input byte (a
// one-byte element becomes a 16-byte interface slot plus its boxed value, and
// slices grow by doubling); allocSlack covers the fixed costs and the 1024
// elements a decoder may reserve ahead of a declared length.
const (
	heapBytesPerInputByte = 128
	allocSlack            = 1 << 20
)

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

func heapAllocated() uint64 {
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64()
}

// checkAllocs runs fn and fails t when it allocated more than the bound for an
// input of n bytes.
func checkAllocs(t *testing.T, n int, fn func()) {
	t.Helper()
	before := heapAllocated()
	fn()
	if got, limit := heapAllocated()-before, uint64(heapBytesPerInputByte*n+allocSlack); got > limit {
		t.Fatalf("decoding %d bytes allocated %d bytes (limit %d)", n, got, limit)
	}
}

func FuzzEngineIOPacket(f *testing.F) {
	for _, s := range seedsEngineIOPacket() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := engineio.ParsePacket(b)
		if err != nil {
			return
		}
		if len(p.Data) > len(b) {
			t.Fatalf("%d bytes of data from %d bytes", len(p.Data), len(b))
		}
		enc := engineio.AppendPacket(nil, p)
		p2, err := engineio.ParsePacket(enc)
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", enc, b, err)
		}
		if p2.Type != p.Type || p2.Binary != p.Binary || !bytes.Equal(p2.Data, p.Data) {
			t.Fatalf("round trip of %q: %+v became %+v", b, p, p2)
		}
		if enc2 := engineio.AppendPacket(nil, p2); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding: %q then %q", enc, enc2)
		}
	})
}

func FuzzEngineIOPayload(f *testing.F) {
	for _, s := range seedsEngineIOPayload() {
		f.Add(s)
	}
	parse := func(b []byte) ([]engineio.Packet, error) {
		var ps []engineio.Packet
		err := engineio.ParsePayload(b, 0, func(p engineio.Packet) error {
			p.Data = bytes.Clone(p.Data)
			ps = append(ps, p)
			return nil
		})
		return ps, err
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := engineio.ParsePayload(b, len(b)-1, func(engineio.Packet) error { return nil }); len(b) > 1 && err == nil {
			t.Fatalf("a %d-byte payload passed a limit of %d", len(b), len(b)-1)
		}
		ps, err := parse(b)
		if err != nil {
			return
		}
		if len(ps) > len(b)+1 {
			t.Fatalf("%d packets from %d bytes", len(ps), len(b))
		}
		enc := engineio.AppendPayload(nil, ps)
		ps2, err := parse(enc)
		if err != nil {
			t.Fatalf("re-parsing %q (from %q): %v", enc, b, err)
		}
		if len(ps2) != len(ps) {
			t.Fatalf("%d packets became %d", len(ps), len(ps2))
		}
		for i := range ps {
			if ps[i].Type != ps2[i].Type || ps[i].Binary != ps2[i].Binary || !bytes.Equal(ps[i].Data, ps2[i].Data) {
				t.Fatalf("packet %d: %+v became %+v", i, ps[i], ps2[i])
			}
		}
		if enc2 := engineio.AppendPayload(nil, ps2); !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding: %q then %q", enc, enc2)
		}
	})
}

// feed gives msgs to a new decoder of pr and returns the completed packet.
func feed(pr parser.Parser, msgs []parser.Message) (*parser.Packet, error) {
	d := pr.NewDecoder()
	for i, m := range msgs {
		p, err := d.Add(m)
		if err != nil {
			return nil, err
		}
		if p != nil {
			if i != len(msgs)-1 {
				return p, errExtraMessages
			}
			return p, nil
		}
	}
	return nil, errIncomplete
}

type fuzzError string

func (e fuzzError) Error() string { return string(e) }

const (
	errExtraMessages fuzzError = "packet complete before its last message"
	errIncomplete    fuzzError = "packet incomplete after its messages"
)

// checkPacket checks a decoded packet: its size is bounded by the input, its
// Values decode, and encoding is stable under a decode round trip through pr.
func checkPacket(t *testing.T, pr parser.Parser, p *parser.Packet, inputLen int) []parser.Message {
	t.Helper()
	if len(p.Args) > inputLen {
		t.Fatalf("%d args from %d bytes", len(p.Args), inputLen)
	}
	for i, a := range append(append([]any(nil), p.Args...), p.Data) {
		if a == nil {
			continue
		}
		v, ok := a.(parser.Value)
		if !ok {
			t.Fatalf("decoded value %d is a %T", i, a)
		}
		var g any
		if err := v.Decode(&g); err != nil {
			t.Fatalf("decoding value %d into any: %v", i, err)
		}
	}
	msgs1, err := pr.Encode(p)
	if err != nil {
		t.Fatalf("encoding the decoded packet %+v: %v", p, err)
	}
	p2, err := feed(pr, msgs1)
	if err != nil {
		t.Fatalf("decoding the re-encoded packet %+v: %v", msgs1, err)
	}
	msgs2, err := pr.Encode(p2)
	if err != nil {
		t.Fatalf("encoding the packet a second time: %v", err)
	}
	if len(msgs1) != len(msgs2) {
		t.Fatalf("unstable encoding: %d messages then %d", len(msgs1), len(msgs2))
	}
	for i := range msgs1 {
		if msgs1[i].Binary != msgs2[i].Binary || !bytes.Equal(msgs1[i].Data, msgs2[i].Data) {
			t.Fatalf("unstable encoding of message %d: %q then %q", i, msgs1[i].Data, msgs2[i].Data)
		}
	}
	return msgs1
}

// crossEncode encodes a packet decoded by one parser with the other (the
// foreign-Value path); the result must decode.
func crossEncode(t *testing.T, to parser.Parser, p *parser.Packet) {
	t.Helper()
	msgs, err := to.Encode(p)
	if err != nil {
		return // a value the other encoding cannot hold
	}
	if _, err := feed(to, msgs); err != nil {
		t.Fatalf("cross-encoded packet %+v does not decode: %v", msgs, err)
	}
}

func FuzzSocketIOText(f *testing.F) {
	for _, s := range seedsSocketIOText() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p *parser.Packet
		var err error
		checkAllocs(t, len(b), func() { p, err = parser.JSON.NewDecoder().Add(parser.Message{Data: b}) })
		if err != nil || p == nil {
			return
		}
		checkPacket(t, parser.JSON, p, len(b))
		crossEncode(t, parser.Msgpack(), p)
	})
}

func FuzzSocketIOBinary(f *testing.F) {
	for _, s := range seedsSocketIOBinary() {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, text, att1, att2, att3 []byte) {
		d := parser.JSON.NewDecoder()
		msgs := []parser.Message{{Data: text}, {Binary: true, Data: att1}, {Binary: true, Data: att2}, {Binary: true, Data: att3}}
		var p *parser.Packet
		n := len(text)
		for _, m := range msgs {
			var err error
			n += len(m.Data)
			checkAllocs(t, n, func() { p, err = d.Add(m) })
			if err != nil {
				return
			}
			if p != nil {
				break
			}
		}
		if p == nil {
			return
		}
		checkPacket(t, parser.JSON, p, n)
		crossEncode(t, parser.Msgpack(), p)
	})
}

// kitchenSink is a typed target for the msgpack decoder.
type kitchenSink struct {
	A  int              `json:"a"`
	B  string           `json:"b"`
	C  []byte           `json:"c"`
	D  []int16          `json:"d"`
	E  map[string]any   `json:"e"`
	F  *kitchenSink     `json:"f"`
	G  [2]float32       `json:"g"`
	H  map[int]string   `json:"h"`
	I  time.Time        `json:"i"`
	J  any              `json:"j"`
	K  msgpack.Raw      `json:"k"`
	L  []map[string]any `json:"l"`
	M  uint8            `json:"m"`
	N  bool             `json:"n"`
	Ex msgpack.Ext      `json:"ex"`
}

func FuzzMsgpack(f *testing.F) {
	for _, s := range seedsMsgpack() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = msgpack.PeekKind(b)
		var typed kitchenSink
		checkAllocs(t, len(b), func() { _ = msgpack.Unmarshal(b, &typed) })
		var list []kitchenSink
		_ = msgpack.Unmarshal(b, &list)

		var g any
		var err error
		checkAllocs(t, len(b), func() { err = msgpack.Unmarshal(b, &g) })
		n, skipErr := msgpack.Skip(b, nil)
		if err != nil {
			return
		}
		if skipErr != nil || n != len(b) {
			t.Fatalf("Unmarshal accepted %x but Skip says %d, %v", b, n, skipErr)
		}
		enc1, err := msgpack.Marshal(g)
		if err != nil {
			t.Fatalf("encoding the decoded %#v: %v", g, err)
		}
		var g2 any
		if err := msgpack.Unmarshal(enc1, &g2); err != nil {
			t.Fatalf("decoding the re-encoded %x: %v", enc1, err)
		}
		enc2, err := msgpack.Marshal(g2)
		if err != nil {
			t.Fatalf("encoding a second time: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("unstable encoding of %x:\n%x\n%x", b, enc1, enc2)
		}
	})
}

func FuzzMsgpackParser(f *testing.F) {
	for _, s := range seedsMsgpackParser() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p *parser.Packet
		var err error
		checkAllocs(t, len(b), func() { p, err = parser.Msgpack().NewDecoder().Add(parser.Message{Binary: true, Data: b}) })
		if err != nil {
			return
		}
		checkPacket(t, parser.Msgpack(), p, len(b))
		crossEncode(t, parser.JSON, p)
	})
}
