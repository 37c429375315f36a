package parser_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/corvid-io/corvid/parser"
)

type rawer interface{ Raw() []byte }

// decodeAll feeds the messages to a fresh decoder and returns the one packet
// they make.
func decodeAll(t *testing.T, msgs ...parser.Message) *parser.Packet {
	t.Helper()
	return decodeWith(t, parser.JSON, msgs...)
}

func decodeWith(t *testing.T, codec parser.Parser, msgs ...parser.Message) *parser.Packet {
	t.Helper()
	d := codec.NewDecoder()
	for i, m := range msgs {
		p, err := d.Add(m)
		if err != nil {
			t.Fatalf("message %d (%q): %v", i, m.Data, err)
		}
		if (p != nil) != (i == len(msgs)-1) {
			t.Fatalf("message %d of %d: packet %v", i, len(msgs), p)
		}
		if p != nil {
			return p
		}
	}
	return nil
}

func text(s string) parser.Message { return parser.Message{Data: []byte(s)} }
func bin(b ...byte) parser.Message { return parser.Message{Binary: true, Data: b} }
func rawOf(v any) string           { return string(v.(rawer).Raw()) }
func argsRaw(p *parser.Packet) []string {
	out := make([]string, len(p.Args))
	for i, a := range p.Args {
		out[i] = rawOf(a)
	}
	return out
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name  string
		msgs  []parser.Message
		typ   parser.PacketType
		nsp   string
		id    uint64
		hasID bool
		event string
		args  []string // raw JSON of each argument
		data  string   // raw JSON of Data ("" = none)
	}{
		{"connect", []parser.Message{text(`0`)}, parser.Connect, "/", 0, false, "", nil, ""},
		{"connect admin sid", []parser.Message{text(`0/admin,{"sid":"x"}`)}, parser.Connect, "/admin", 0, false, "", nil, `{"sid":"x"}`},
		{"connect auth", []parser.Message{text(`0{"token":"123"}`)}, parser.Connect, "/", 0, false, "", nil, `{"token":"123"}`},
		{"connect custom", []parser.Message{text(`0/custom,`)}, parser.Connect, "/custom", 0, false, "", nil, ""},
		{"connect custom auth", []parser.Message{text(`0/custom,{"token":"abc"}`)}, parser.Connect, "/custom", 0, false, "", nil, `{"token":"abc"}`},
		{"connect without comma", []parser.Message{text(`0/random`)}, parser.Connect, "/random", 0, false, "", nil, ""},
		{"disconnect", []parser.Message{text(`1`)}, parser.Disconnect, "/", 0, false, "", nil, ""},
		{"disconnect admin", []parser.Message{text(`1/admin,`)}, parser.Disconnect, "/admin", 0, false, "", nil, ""},
		{"disconnect without comma", []parser.Message{text(`1/custom`)}, parser.Disconnect, "/custom", 0, false, "", nil, ""},
		{"event", []parser.Message{text(`2["foo"]`)}, parser.Event, "/", 0, false, "foo", nil, ""},
		{"event admin", []parser.Message{text(`2/admin,["bar"]`)}, parser.Event, "/admin", 0, false, "bar", nil, ""},
		{"event id", []parser.Message{text(`212["foo"]`)}, parser.Event, "/", 12, true, "foo", nil, ""},
		{"ack admin", []parser.Message{text(`3/admin,13["bar"]`)}, parser.Ack, "/admin", 13, true, "", []string{`"bar"`}, ""},
		{"connect error", []parser.Message{text(`4{"message":"Not authorized"}`)}, parser.ConnectError, "/", 0, false, "", nil, `{"message":"Not authorized"}`},
		{"connect error random", []parser.Message{text(`4/random,{"message":"Invalid namespace"}`)}, parser.ConnectError, "/random", 0, false, "", nil, `{"message":"Invalid namespace"}`},
		{"connect error string", []parser.Message{text(`4"nope"`)}, parser.ConnectError, "/", 0, false, "", nil, `"nope"`},
		{"S26", []parser.Message{text(`2["message",1,"2",{"3":[true]}]`)}, parser.Event, "/", 0, false, "message", []string{`1`, `"2"`, `{"3":[true]}`}, ""},
		{"S27", []parser.Message{text(`52-["message",` + ph(0) + `,` + ph(1) + `]`), bin(1, 2, 3), bin(4, 5, 6)},
			parser.Event, "/", 0, false, "message", []string{ph(0), ph(1)}, ""},
		{"S28", []parser.Message{text(`2456["message-with-ack",1,"2",{"3":[false]}]`)}, parser.Event, "/", 456, true, "message-with-ack", []string{`1`, `"2"`, `{"3":[false]}`}, ""},
		{"S29", []parser.Message{text(`52-789["message-with-ack",` + ph(0) + `,` + ph(1) + `]`), bin(1, 2, 3), bin(4, 5, 6)},
			parser.Event, "/", 789, true, "message-with-ack", []string{ph(0), ph(1)}, ""},
		{"binary event", []parser.Message{text(`51-["baz",` + ph(0) + `]`), bin(1, 2, 3, 4)}, parser.Event, "/", 0, false, "baz", []string{ph(0)}, ""},
		{"binary ack", []parser.Message{text(`61-15["bar",` + ph(0) + `]`), bin(1)}, parser.Ack, "/", 15, true, "", []string{`"bar"`, ph(0)}, ""},
		{"binary ack admin", []parser.Message{text(`61-/admin,7[` + ph(0) + `]`), bin(1)}, parser.Ack, "/admin", 7, true, "", []string{ph(0)}, ""},
		{"placeholders reversed", []parser.Message{text(`52-["r",` + ph(1) + `,{"x":` + ph(0) + `}]`), bin(1), bin(2)},
			parser.Event, "/", 0, false, "r", []string{ph(1), `{"x":` + ph(0) + `}`}, ""},
		{"placeholder keys reversed", []parser.Message{text(`51-["r",{"num":0,"_placeholder":true}]`), bin(1)},
			parser.Event, "/", 0, false, "r", []string{`{"num":0,"_placeholder":true}`}, ""},
		{"escaped placeholder key", []parser.Message{text(`51-["r",{"\u005fplaceholder":true,"num":0}]`), bin(1)},
			parser.Event, "/", 0, false, "r", []string{`{"\u005fplaceholder":true,"num":0}`}, ""},
		{"leading zeros", []parser.Message{text(`502-007["z",` + ph(0) + `,` + ph(1) + `]`), bin(1), bin(2)}, parser.Event, "/", 7, true, "z", []string{ph(0), ph(1)}, ""},
		{"max id", []parser.Message{text(`318446744073709551615[]`)}, parser.Ack, "/", 18446744073709551615, true, "", nil, ""},
		{"empty ack", []parser.Message{text(`31[]`)}, parser.Ack, "/", 1, true, "", nil, ""},
		{"numeric event", []parser.Message{text(`2[1,2]`)}, parser.Event, "/", 0, false, "1", []string{`2`}, ""},
		{"numeric event float", []parser.Message{text(`2[1.50e1]`)}, parser.Event, "/", 0, false, "15", nil, ""},
		{"escaped event", []parser.Message{text(`2["a\"b\u00e9"]`)}, parser.Event, "/", 0, false, "a\"bé", nil, ""},
		{"whitespace", []parser.Message{text("2[ \"ws\" , { \"a\" : 1 } , [ ] ]\n")}, parser.Event, "/", 0, false, "ws", []string{`{ "a" : 1 }`, `[ ]`}, ""},
		{"placeholder-like plain", []parser.Message{text(`2["p",{"_placeholder":false,"num":0},{"_placeholder":"true"}]`)}, parser.Event, "/", 0, false, "p",
			[]string{`{"_placeholder":false,"num":0}`, `{"_placeholder":"true"}`}, ""},
		{"unicode namespace", []parser.Message{text(`2/é,["x"]`)}, parser.Event, "/é", 0, false, "x", nil, ""},
		{"root with comma", []parser.Message{text(`2/,["x"]`)}, parser.Event, "/", 0, false, "x", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := decodeAll(t, tc.msgs...)
			if p.Type != tc.typ || p.Namespace != tc.nsp || p.ID != tc.id || p.HasID != tc.hasID || p.Event != tc.event {
				t.Errorf("got %v %q id=%d/%v event=%q, want %v %q id=%d/%v event=%q",
					p.Type, p.Namespace, p.ID, p.HasID, p.Event, tc.typ, tc.nsp, tc.id, tc.hasID, tc.event)
			}
			if got := argsRaw(p); strings.Join(got, "|") != strings.Join(tc.args, "|") || len(got) != len(tc.args) {
				t.Errorf("args %q, want %q", got, tc.args)
			}
			switch {
			case tc.data == "" && p.Data != nil:
				t.Errorf("data %v, want none", p.Data)
			case tc.data != "" && (p.Data == nil || rawOf(p.Data) != tc.data):
				t.Errorf("data %v, want %s", p.Data, tc.data)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	long := strings.Repeat("[", 10001) + strings.Repeat("]", 10001)
	cases := []struct {
		name string
		msgs []parser.Message
		kind error
	}{
		{"empty", []parser.Message{text(``)}, parser.ErrEmpty},
		{"unknown type abc", []parser.Message{text(`abc`)}, parser.ErrUnknownType},
		{"S30 4abc", []parser.Message{text(`4abc`)}, parser.ErrInvalidPayload},
		{"type 7", []parser.Message{text(`7["x"]`)}, parser.ErrUnknownType},
		{"type 9", []parser.Message{text(`9`)}, parser.ErrUnknownType},
		{"type below 0", []parser.Message{text(`/`)}, parser.ErrUnknownType},
		{"S31 2{}", []parser.Message{text(`2{}`)}, parser.ErrInvalidPayload},
		{"S32 2abc", []parser.Message{text(`2abc["message-with-ack",1]`)}, parser.ErrInvalidPayload},
		{"event string", []parser.Message{text(`2"x"`)}, parser.ErrInvalidPayload},
		{"event empty", []parser.Message{text(`2[]`)}, parser.ErrInvalidPayload},
		{"event missing", []parser.Message{text(`2`)}, parser.ErrInvalidPayload},
		{"event id only", []parser.Message{text(`212`)}, parser.ErrInvalidPayload},
		{"event name null", []parser.Message{text(`2[null]`)}, parser.ErrInvalidPayload},
		{"event name object", []parser.Message{text(`2[{}]`)}, parser.ErrInvalidPayload},
		{"event name array", []parser.Message{text(`2[["x"]]`)}, parser.ErrInvalidPayload},
		{"reserved connect", []parser.Message{text(`2["connect"]`)}, parser.ErrReservedEvent},
		{"reserved disconnect", []parser.Message{text(`2/a,["disconnect",1]`)}, parser.ErrReservedEvent},
		{"reserved escaped", []parser.Message{text(`2["\u0064isconnecting"]`)}, parser.ErrReservedEvent},
		{"reserved removeListener", []parser.Message{text(`2["removeListener"]`)}, parser.ErrReservedEvent},
		{"reserved binary", []parser.Message{text(`51-["newListener",` + ph(0) + `]`)}, parser.ErrReservedEvent},
		{"reserved connect_error", []parser.Message{text(`2["connect_error"]`)}, parser.ErrReservedEvent},
		{"ack object", []parser.Message{text(`3{}`)}, parser.ErrInvalidPayload},
		{"ack missing", []parser.Message{text(`31`)}, parser.ErrInvalidPayload},
		{"connect array", []parser.Message{text(`0[]`)}, parser.ErrInvalidPayload},
		{"connect string", []parser.Message{text(`0"x"`)}, parser.ErrInvalidPayload},
		{"connect null", []parser.Message{text(`0null`)}, parser.ErrInvalidPayload},
		{"connect error array", []parser.Message{text(`4[]`)}, parser.ErrInvalidPayload},
		{"connect error missing", []parser.Message{text(`4`)}, parser.ErrInvalidPayload},
		{"disconnect payload", []parser.Message{text(`1{}`)}, parser.ErrInvalidPayload},
		{"disconnect ns payload", []parser.Message{text(`1/a,[]`)}, parser.ErrInvalidPayload},
		{"syntax", []parser.Message{text(`2["x",]`)}, parser.ErrSyntax},
		{"syntax unterminated", []parser.Message{text(`2["x"`)}, parser.ErrSyntax},
		{"fuzz: event bracket only", []parser.Message{text(`2[`)}, parser.ErrSyntax},
		{"ack bracket only", []parser.Message{text(`3[`)}, parser.ErrSyntax},
		{"event bracket space", []parser.Message{text(`2[ `)}, parser.ErrSyntax},
		{"event comma end", []parser.Message{text(`2["x",`)}, parser.ErrSyntax},
		{"syntax trailing", []parser.Message{text(`2["x"]]`)}, parser.ErrSyntax},
		{"syntax trailing object", []parser.Message{text(`0{}{}`)}, parser.ErrSyntax},
		{"syntax leading zero", []parser.Message{text(`2["x",01]`)}, parser.ErrSyntax},
		{"syntax control char", []parser.Message{text("2[\"x\ty\"]")}, parser.ErrSyntax},
		{"syntax bad escape", []parser.Message{text(`2["x\q"]`)}, parser.ErrSyntax},
		{"syntax bad literal", []parser.Message{text(`2["x",tru]`)}, parser.ErrSyntax},
		{"syntax single quotes", []parser.Message{text(`2['x']`)}, parser.ErrInvalidPayload},
		{"syntax NaN", []parser.Message{text(`2["x",NaN]`)}, parser.ErrSyntax},
		{"too deep", []parser.Message{text(`2["x",` + long + `]`)}, parser.ErrSyntax},
		{"id overflow", []parser.Message{text(`218446744073709551616["x"]`)}, parser.ErrInvalidID},
		{"id huge", []parser.Message{text(`2` + strings.Repeat("9", 40) + `["x"]`)}, parser.ErrInvalidID},
		{"namespace not utf8", []parser.Message{text("2/\xff,[\"x\"]")}, parser.ErrInvalidNamespace},
		{"namespace runs into payload", []parser.Message{text(`2/nsp["x"]`)}, parser.ErrInvalidPayload},
		{"attachments missing dash", []parser.Message{text(`51["x"]`)}, parser.ErrInvalidAttachments},
		{"attachments no count", []parser.Message{text(`5-["x"]`)}, parser.ErrInvalidAttachments},
		{"attachments not a number", []parser.Message{text(`5a-["x"]`)}, parser.ErrInvalidAttachments},
		{"attachments zero", []parser.Message{text(`50-["x"]`)}, parser.ErrInvalidAttachments},
		{"attachments end", []parser.Message{text(`51`)}, parser.ErrInvalidAttachments},
		{"too many attachments", []parser.Message{text(`511-["x"]`)}, parser.ErrTooManyAttachments},
		{"way too many attachments", []parser.Message{text(`599999999999-["x"]`)}, parser.ErrTooManyAttachments},
		{"more attachments than placeholders", []parser.Message{text(`52-["x",` + ph(0) + `]`)}, parser.ErrPlaceholder},
		{"fewer attachments than placeholders", []parser.Message{text(`51-["x",` + ph(0) + `,` + ph(1) + `]`)}, parser.ErrPlaceholder},
		{"placeholder without attachments", []parser.Message{text(`2["x",` + ph(0) + `]`)}, parser.ErrPlaceholder},
		{"placeholder in connect", []parser.Message{text(`0{"a":` + ph(0) + `}`)}, parser.ErrPlaceholder},
		{"placeholder nested without attachments", []parser.Message{text(`3[{"a":[[` + ph(0) + `]]}]`)}, parser.ErrPlaceholder},
		{"placeholder out of range", []parser.Message{text(`51-["x",` + ph(1) + `]`)}, parser.ErrPlaceholder},
		{"placeholder duplicate", []parser.Message{text(`52-["x",` + ph(0) + `,` + ph(0) + `]`)}, parser.ErrPlaceholder},
		{"placeholder negative", []parser.Message{text(`51-["x",{"_placeholder":true,"num":-1}]`)}, parser.ErrPlaceholder},
		{"placeholder fraction", []parser.Message{text(`51-["x",{"_placeholder":true,"num":0.5}]`)}, parser.ErrPlaceholder},
		{"placeholder exponent", []parser.Message{text(`51-["x",{"_placeholder":true,"num":0e0}]`)}, parser.ErrPlaceholder},
		{"placeholder string num", []parser.Message{text(`51-["x",{"_placeholder":true,"num":"0"}]`)}, parser.ErrPlaceholder},
		{"placeholder no num", []parser.Message{text(`51-["x",{"_placeholder":true}]`)}, parser.ErrPlaceholder},
		{"placeholder extra key", []parser.Message{text(`51-["x",{"_placeholder":true,"num":0,"x":1}]`)}, parser.ErrPlaceholder},
		{"placeholder duplicate key", []parser.Message{text(`51-["x",{"_placeholder":true,"num":0,"num":0}]`)}, parser.ErrPlaceholder},
		{"placeholder duplicate flag", []parser.Message{text(`51-["x",{"_placeholder":false,"_placeholder":true,"num":0}]`)}, parser.ErrPlaceholder},
		{"placeholder nested in placeholder", []parser.Message{text(`51-["x",{"_placeholder":true,"num":` + ph(0) + `}]`)}, parser.ErrPlaceholder},
		{"placeholder as event name", []parser.Message{text(`51-[` + ph(0) + `]`)}, parser.ErrInvalidPayload},
		{"binary without packet", []parser.Message{bin(1)}, parser.ErrUnexpectedBinary},
		{"binary after complete packet", []parser.Message{text(`51-["x",` + ph(0) + `]`), bin(1), bin(2)}, parser.ErrUnexpectedBinary},
		{"binary after text packet", []parser.Message{text(`2["x"]`), bin(2)}, parser.ErrUnexpectedBinary},
		{"text while pending", []parser.Message{text(`52-["x",` + ph(0) + `,` + ph(1) + `]`), bin(1), text(`2["y"]`)}, parser.ErrUnexpectedText},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := parser.JSON.NewDecoder()
			var err error
			for i, m := range tc.msgs {
				var p *parser.Packet
				p, err = d.Add(m)
				if i < len(tc.msgs)-1 && err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if err != nil && p != nil {
					t.Errorf("packet %v returned with error", p)
				}
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			var pe *parser.Error
			if !errors.As(err, &pe) {
				t.Errorf("%T is not a *parser.Error", err)
			}
			// The decoder is usable again after an error.
			p, err := d.Add(text(`2["after"]`))
			if err != nil || p.Event != "after" {
				t.Errorf("after the error: %v, %v", p, err)
			}
		})
	}
}

func TestMaxAttachments(t *testing.T) {
	msg := text(`512-["x",` + placeholders(12) + `]`)
	if _, err := parser.JSON.NewDecoder().Add(msg); !errors.Is(err, parser.ErrTooManyAttachments) {
		t.Fatalf("default limit: err = %v", err)
	}
	d := parser.NewJSON(&parser.JSONOptions{MaxAttachments: 12}).NewDecoder()
	if p, err := d.Add(msg); p != nil || err != nil {
		t.Fatalf("raised limit: %v %v", p, err)
	}
	for i := range 11 {
		if p, err := d.Add(bin(byte(i))); p != nil || err != nil {
			t.Fatalf("attachment %d: %v %v", i, p, err)
		}
	}
	p, err := d.Add(bin(11))
	if err != nil || p == nil || len(p.Args) != 12 {
		t.Fatalf("last attachment: %v %v", p, err)
	}
	var b []byte
	if err := p.Args[11].(parser.Value).Decode(&b); err != nil || !bytes.Equal(b, []byte{11}) {
		t.Fatalf("arg 11 = %v %v", b, err)
	}
	d = parser.NewJSON(&parser.JSONOptions{MaxAttachments: 1}).NewDecoder()
	if _, err := d.Add(text(`52-["x",` + ph(0) + `,` + ph(1) + `]`)); !errors.Is(err, parser.ErrTooManyAttachments) {
		t.Fatalf("lowered limit: err = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			msgs, err := parser.JSON.Encode(&p)
			if err != nil {
				t.Fatal(err)
			}
			q := decodeWith(t, parser.NewJSON(&parser.JSONOptions{MaxAttachments: 100}), msgs...)
			if q.Namespace != nspOrRoot(p.Namespace) || q.ID != p.ID || q.HasID != p.HasID || q.Event != p.Event {
				t.Fatalf("decoded %+v from %+v", q, p)
			}
			// Re-encoding the decoded packet gives the same messages.
			again, err := parser.JSON.Encode(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != len(msgs) {
				t.Fatalf("%d messages, then %d", len(msgs), len(again))
			}
			for i := range msgs {
				if msgs[i].Binary != again[i].Binary || !bytes.Equal(msgs[i].Data, again[i].Data) {
					t.Errorf("message %d: %q, then %q", i, msgs[i].Data, again[i].Data)
				}
			}
		})
	}
}

func nspOrRoot(s string) string {
	if s == "" {
		return "/"
	}
	return s
}

func TestPacketTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "PacketType(7)"}
	for i, w := range want {
		if got := parser.PacketType(i).String(); got != w {
			t.Errorf("PacketType(%d) = %q, want %q", i, got, w)
		}
	}
	if !parser.IsReservedEvent("connect") || parser.IsReservedEvent("message") {
		t.Error("IsReservedEvent")
	}
}
