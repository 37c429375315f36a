package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func TestPacketTypeString(t *testing.T) {
	want := []string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}
	for i, w := range want {
		if got := PacketType(i).String(); got != w {
			t.Errorf("PacketType(%d) = %q, want %q", i, got, w)
		}
	}
	if got := PacketType(7).String(); got != "unknown" {
		t.Errorf("PacketType(7) = %q", got)
	}
}

func TestAppendPacket(t *testing.T) {
	cases := []struct {
		p    Packet
		want string
	}{
		{Packet{Type: PacketOpen, Data: []byte(`{"sid":"x"}`)}, `0{"sid":"x"}`},
		{Packet{Type: PacketClose}, "1"},
		{Packet{Type: PacketPing, Data: []byte("probe")}, "2probe"},
		{Packet{Type: PacketPong}, "3"},
		{Packet{Type: PacketMessage, Data: []byte("hello")}, "4hello"},
		{Packet{Type: PacketMessage}, "4"},
		{Packet{Type: PacketUpgrade}, "5"},
		{Packet{Type: PacketNoop}, "6"},
		{Packet{Type: PacketMessage, Binary: true, Data: []byte{1, 2, 3, 4}}, "bAQIDBA=="},
		{Packet{Type: PacketMessage, Binary: true}, "b"},
	}
	for _, c := range cases {
		if got := string(AppendPacket([]byte("x"), c.p)); got != "x"+c.want {
			t.Errorf("AppendPacket(%+v) = %q, want %q", c.p, got, "x"+c.want)
		}
	}
}

func TestParsePacket(t *testing.T) {
	cases := []struct {
		in   string
		want Packet
	}{
		{"4hello", Packet{Type: PacketMessage, Data: []byte("hello")}},
		{"2probe", Packet{Type: PacketPing, Data: []byte("probe")}},
		{"3", Packet{Type: PacketPong}},
		{"6", Packet{Type: PacketNoop}},
		{"bAQIDBA==", Packet{Type: PacketMessage, Binary: true, Data: []byte{1, 2, 3, 4}}},
		{"bAQIDBA", Packet{Type: PacketMessage, Binary: true, Data: []byte{1, 2, 3, 4}}},
		{"b", Packet{Type: PacketMessage, Binary: true, Data: []byte{}}},
		{"4€", Packet{Type: PacketMessage, Data: []byte("€")}},
	}
	for _, c := range cases {
		got, err := ParsePacket([]byte(c.in))
		if err != nil {
			t.Errorf("ParsePacket(%q): %v", c.in, err)
			continue
		}
		if got.Type != c.want.Type || got.Binary != c.want.Binary || !bytes.Equal(got.Data, c.want.Data) {
			t.Errorf("ParsePacket(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

func TestParsePacketErrors(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrEmptyPacket},
		{"abc", ErrUnknownPacketType},
		{"7", ErrUnknownPacketType},
		{"/", ErrUnknownPacketType},
		{"b!!!!", ErrBadBase64},
		{"bA", ErrBadBase64},
		{"bAQ=IDBA", ErrBadBase64},
	}
	for _, c := range cases {
		_, err := ParsePacket([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("ParsePacket(%q) error = %v, want %v", c.in, err, c.want)
		}
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	ps := []Packet{
		{Type: PacketMessage, Data: []byte("hello")},
		{Type: PacketMessage, Binary: true, Data: []byte{1, 2, 3, 4}},
		{Type: PacketPing},
		{Type: PacketMessage, Data: []byte("world")},
	}
	enc := AppendPayload(nil, ps)
	if want := "4hello\x1ebAQIDBA==\x1e2\x1e4world"; string(enc) != want {
		t.Fatalf("AppendPayload = %q, want %q", enc, want)
	}
	var got []Packet
	if err := ParsePayload(enc, 0, func(p Packet) error { got = append(got, p); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ps) {
		t.Fatalf("got %d packets, want %d", len(got), len(ps))
	}
	for i := range ps {
		if got[i].Type != ps[i].Type || got[i].Binary != ps[i].Binary || !bytes.Equal(got[i].Data, ps[i].Data) {
			t.Errorf("packet %d = %+v, want %+v", i, got[i], ps[i])
		}
	}
}

func TestParsePayloadErrors(t *testing.T) {
	cases := []struct {
		in     string
		max    int
		want   error
		seen   int // packets delivered before the error
		offset int
	}{
		{"", 0, ErrEmptyPacket, 0, 0},
		{"4a\x1e", 0, ErrEmptyPacket, 1, 3},
		{"4a\x1e\x1e4b", 0, ErrEmptyPacket, 1, 3},
		{"4hello\x1eabc", 0, ErrUnknownPacketType, 1, 7},
		{"4hello\x1eb%%%", 0, ErrBadBase64, 1, 7},
		{"4hello", 3, ErrPayloadTooLarge, 0, -1},
	}
	for _, c := range cases {
		seen := 0
		err := ParsePayload([]byte(c.in), c.max, func(Packet) error { seen++; return nil })
		if !errors.Is(err, c.want) {
			t.Errorf("ParsePayload(%q) error = %v, want %v", c.in, err, c.want)
		}
		if seen != c.seen {
			t.Errorf("ParsePayload(%q) delivered %d packets, want %d", c.in, seen, c.seen)
		}
		var pe *ParseError
		if c.offset >= 0 && (!errors.As(err, &pe) || pe.Offset != c.offset) {
			t.Errorf("ParsePayload(%q) error = %#v, want offset %d", c.in, err, c.offset)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := ParsePayload([]byte("4a\x1e4b\x1e4c"), 0, func(Packet) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("callback error: got %v after %d packets", err, n)
	}
}

func TestAppendPacketNoAlloc(t *testing.T) {
	buf := make([]byte, 0, 256)
	text := Packet{Type: PacketMessage, Data: []byte("hello world")}
	bin := Packet{Type: PacketMessage, Binary: true, Data: bytes.Repeat([]byte{7}, 64)}
	allocs := testing.AllocsPerRun(100, func() {
		b := AppendPacket(buf[:0], text)
		b = AppendPayload(b, []Packet{bin, text})
		_ = b
	})
	if allocs != 0 {
		t.Errorf("encoding into a large enough buffer allocated %v times", allocs)
	}
}

// FuzzParsePayload checks that decoding never panics, honours max, and that what
// decodes re-encodes to a payload that decodes to the same packets.
func FuzzParsePayload(f *testing.F) {
	for _, p := range []Packet{
		{Type: PacketOpen, Data: []byte(`{"sid":"x"}`)}, {Type: PacketClose}, {Type: PacketPing, Data: []byte("probe")},
		{Type: PacketPong}, {Type: PacketMessage, Data: []byte("hé")}, {Type: PacketUpgrade}, {Type: PacketNoop},
		{Type: PacketMessage, Binary: true, Data: []byte{0, 1, 2, 0xff}},
	} {
		f.Add(AppendPacket(nil, p), 0)
		f.Add(AppendPayload(nil, []Packet{p, p}), 100)
	}
	f.Add([]byte("bAQID\x1e4x\x1e"), 0)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		var got []Packet
		err := ParsePayload(b, max, func(p Packet) error {
			got = append(got, Packet{Type: p.Type, Binary: p.Binary, Data: bytes.Clone(p.Data)})
			return nil
		})
		if max > 0 && len(b) > max && !errors.Is(err, ErrPayloadTooLarge) {
			t.Fatalf("len %d > max %d accepted: %v", len(b), max, err)
		}
		if err != nil {
			return
		}
		var again []Packet
		if err := ParsePayload(AppendPayload(nil, got), 0, func(p Packet) error {
			again = append(again, p)
			return nil
		}); err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("%d packets, then %d", len(got), len(again))
		}
		for i := range got {
			if again[i].Type != got[i].Type || again[i].Binary != got[i].Binary || !bytes.Equal(again[i].Data, got[i].Data) {
				t.Fatalf("packet %d: %+v, then %+v", i, got[i], again[i])
			}
		}
	})
}
