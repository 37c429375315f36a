package parser

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
)

type mpConnectData struct {
	Sid string `json:"sid"`
	Pid string `json:"pid"`
}

type mpConnectError struct {
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

// mpGolden are the bytes npm socket.io-msgpack-parser 3.0.2 writes for the
// packet objects socket.io 4.8 builds (generated with node; the conformance test
// checks the same packets against a live Node process).
var mpGolden = []struct {
	name string
	p    Packet
	hex  string
}{
	{"event", Packet{Type: Event, Namespace: "/", Event: "hello", Args: []any{1, "two", []byte{1, 2, 3}, map[string]any{"a": []any{true, nil}}}},
		"83a47479706502a46461746195a568656c6c6f01a374776fc40301020381a16192c3c0a36e7370a12f"},
	{"event with id", Packet{Type: Event, Namespace: "/admin", Event: "ev", ID: 12, HasID: true},
		"84a47479706502a46461746191a26576a269640ca36e7370a62f61646d696e"},
	{"ack", Packet{Type: Ack, Namespace: "/", ID: 300, HasID: true, Args: []any{map[string]any{"x": 1.5}}},
		"84a26964cd012ca47479706503a4646174619181a178cb3ff8000000000000a36e7370a12f"},
	{"connect", Packet{Type: Connect, Namespace: "/", Data: mpConnectData{"abc", "def"}},
		"83a47479706500a46461746182a3736964a3616263a3706964a3646566a36e7370a12f"},
	{"connect without data", Packet{Type: Connect, Namespace: "/x"},
		"83a47479706500a464617461d40000a36e7370a22f78"},
	{"disconnect", Packet{Type: Disconnect, Namespace: "/"},
		"82a47479706501a36e7370a12f"},
	{"connect error", Packet{Type: ConnectError, Namespace: "/", Data: mpConnectError{"nope", map[string]any{"code": 1}}},
		"83a47479706504a46461746182a76d657373616765a46e6f7065a46461746181a4636f646501a36e7370a12f"},
}

func TestMsgpackEncodeGolden(t *testing.T) {
	for _, tc := range mpGolden {
		msgs, err := Msgpack().Encode(&tc.p)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Errorf("%s: got %d messages (binary %v), want one binary message", tc.name, len(msgs), len(msgs) > 0 && msgs[0].Binary)
			continue
		}
		if h := hex.EncodeToString(msgs[0].Data); h != tc.hex {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, h, tc.hex)
		}
	}
}

func decodeArgs(t *testing.T, args []any) []any {
	t.Helper()
	out := make([]any, len(args))
	for i, a := range args {
		v, ok := a.(Value)
		if !ok {
			t.Fatalf("arg %d is %T, not a Value", i, a)
		}
		if err := v.Decode(&out[i]); err != nil {
			t.Fatalf("arg %d: %v", i, err)
		}
	}
	return out
}

func TestMsgpackDecodeGolden(t *testing.T) {
	for _, tc := range mpGolden {
		b, _ := hex.DecodeString(tc.hex)
		p, err := Msgpack().NewDecoder().Add(Message{Binary: true, Data: b})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.Type != tc.p.Type || p.Namespace != tc.p.Namespace || p.ID != tc.p.ID || p.HasID != tc.p.HasID || p.Event != tc.p.Event || len(p.Args) != len(tc.p.Args) {
			t.Errorf("%s: got %+v, want %+v", tc.name, p, tc.p)
			continue
		}
		// Every decoded packet re-encodes to the same bytes (Values are
		// written from their raw form).
		msgs, err := Msgpack().Encode(p)
		if err != nil || !bytes.Equal(msgs[0].Data, b) {
			t.Errorf("%s: re-encoded %x, %v", tc.name, msgs[0].Data, err)
		}
	}
	b, _ := hex.DecodeString(mpGolden[0].hex)
	p, _ := Msgpack().NewDecoder().Add(Message{Binary: true, Data: b})
	got := decodeArgs(t, p.Args)
	want := []any{1.0, "two", []byte{1, 2, 3}, map[string]any{"a": []any{true, nil}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args: got %#v, want %#v", got, want)
	}
	var typed struct {
		A []bool `json:"a"`
	}
	if err := p.Args[3].(Value).Decode(&typed); err != nil || len(typed.A) != 2 || !typed.A[0] {
		t.Errorf("typed decode: %+v, %v", typed, err)
	}
}

func TestMsgpackDecodeClientAckOrder(t *testing.T) {
	// socket.io-client writes {type, id, data, nsp}; the order does not matter.
	b, _ := hex.DecodeString("84a47479706503a26964cd012ca4646174619181a178cb3ff8000000000000a36e7370a12f")
	p, err := Msgpack().NewDecoder().Add(Message{Binary: true, Data: b})
	if err != nil || p.Type != Ack || p.ID != 300 || !p.HasID || len(p.Args) != 1 {
		t.Fatalf("got %+v, %v", p, err)
	}
}

func TestMsgpackBinaryTypesAndTime(t *testing.T) {
	when := time.UnixMilli(1700000000123)
	msgs, err := Msgpack().Encode(&Packet{Type: BinaryEvent, Event: "e", Args: []any{[]any{[]byte{7}}, when}})
	if err != nil {
		t.Fatal(err)
	}
	// type 2, no attachments, bin inline, time as notepack 2's Date.
	want := "83a47479706502a46461746193a16591c40107d7000000018bcfe5687ba36e7370a12f"
	if h := hex.EncodeToString(msgs[0].Data); h != want {
		t.Fatalf("got %s\nwant %s", h, want)
	}
	p, err := Msgpack().NewDecoder().Add(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	var tm time.Time
	if err := p.Args[1].(Value).Decode(&tm); err != nil || !tm.Equal(when) {
		t.Fatalf("time: %v, %v", tm, err)
	}
	msgs, err = Msgpack().Encode(&Packet{Type: BinaryAck, ID: 1, HasID: true, Args: []any{[]byte{}}})
	if err != nil || hex.EncodeToString(msgs[0].Data) != "84a2696401a47479706503a46461746191c400a36e7370a12f" {
		t.Fatalf("binary ack: %x, %v", msgs[0].Data, err)
	}
}

// foreignValue stands for a Value of another parser.
type foreignValue struct{ v any }

func (f foreignValue) Decode(v any) error {
	p, ok := v.(*any)
	if !ok {
		return errors.New("foreign: only *any")
	}
	*p = f.v
	return nil
}

func TestMsgpackEncodeForeignValue(t *testing.T) {
	msgs, err := Msgpack().Encode(&Packet{Type: Event, Event: "echo", Args: []any{foreignValue{map[string]any{"k": []byte{1}}}, []any{foreignValue{"s"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "83a47479706502a46461746193a46563686f81a16bc4010191a173a36e7370a12f"
	if h := hex.EncodeToString(msgs[0].Data); h != want {
		t.Fatalf("got %s\nwant %s", h, want)
	}
}

func TestMsgpackEncodeErrors(t *testing.T) {
	for _, tc := range []struct {
		p    Packet
		kind error
	}{
		{Packet{Type: 7}, ErrUnknownType},
		{Packet{Type: Event, Event: "disconnect"}, ErrReservedEvent},
		{Packet{Type: ConnectError}, ErrInvalidPayload},
		{Packet{Type: Event, Event: "e", Args: []any{make(chan int)}}, ErrUnsupportedValue},
		{Packet{Type: Connect, Data: func() {}}, ErrUnsupportedValue},
	} {
		if _, err := Msgpack().Encode(&tc.p); !errors.Is(err, tc.kind) {
			t.Errorf("%+v: got %v, want %v", tc.p, err, tc.kind)
		}
	}
}

func TestMsgpackDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hex    string
		binary bool
		kind   error
	}{
		{"empty", "", true, ErrEmpty},
		{"text message", "80", false, ErrSyntax},
		{"malformed", "83a4", true, ErrSyntax},
		{"trailing bytes", "82a47479706501a36e7370a12f00", true, ErrSyntax},
		{"not a map", "9102", true, ErrUnknownType},
		{"no type", "81a36e7370a12f", true, ErrUnknownType},
		{"type 5", "82a47479706505a36e7370a12f", true, ErrUnknownType},
		{"type -1", "82a474797065ffa36e7370a12f", true, ErrUnknownType},
		{"type 1.5", "82a474797065cb3ff8000000000000a36e7370a12f", true, ErrUnknownType},
		{"type string", "82a474797065a131a36e7370a12f", true, ErrUnknownType},
		{"no nsp", "81a47479706501", true, ErrInvalidNamespace},
		{"nsp number", "82a47479706501a36e737001", true, ErrInvalidNamespace},
		{"disconnect with data", "83a47479706501a46461746180a36e7370a12f", true, ErrInvalidPayload},
		{"disconnect with nil data", "83a47479706501a464617461c0a36e7370a12f", true, ErrInvalidPayload},
		{"connect with array", "83a47479706500a46461746190a36e7370a12f", true, ErrInvalidPayload},
		{"connect with nil", "83a47479706500a464617461c0a36e7370a12f", true, ErrInvalidPayload},
		{"connect error without data", "82a47479706504a36e7370a12f", true, ErrInvalidPayload},
		{"connect error number", "83a47479706504a46461746101a36e7370a12f", true, ErrInvalidPayload},
		{"event without data", "82a47479706502a36e7370a12f", true, ErrInvalidPayload},
		{"event with map", "83a47479706502a46461746180a36e7370a12f", true, ErrInvalidPayload},
		{"event empty", "83a47479706502a46461746190a36e7370a12f", true, ErrInvalidPayload},
		{"event bool name", "83a47479706502a46461746191c3a36e7370a12f", true, ErrInvalidPayload},
		{"reserved event", "83a47479706502a46461746191a7636f6e6e656374a36e7370a12f", true, ErrReservedEvent},
		{"ack with string", "83a47479706503a464617461a161a36e7370a12f", true, ErrInvalidPayload},
		{"id string", "84a47479706503a46461746190a26964a131a36e7370a12f", true, ErrInvalidID},
		{"id negative", "84a47479706503a46461746190a26964ffa36e7370a12f", true, ErrInvalidID},
		{"id fraction", "84a47479706503a46461746190a26964cb3ff8000000000000a36e7370a12f", true, ErrInvalidID},
		{"id nil", "84a47479706503a46461746190a26964c0a36e7370a12f", true, ErrInvalidID},
		{"array key", "81910101", true, ErrSyntax},
	} {
		b, _ := hex.DecodeString(tc.hex)
		p, err := Msgpack().NewDecoder().Add(Message{Binary: tc.binary, Data: b})
		var pe *Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &pe) {
			t.Errorf("%s: got %+v, %v; want %v", tc.name, p, err, tc.kind)
		}
	}
}

func TestMsgpackDecodeLenient(t *testing.T) {
	// What socket.io-msgpack-parser accepts: float type and id holding integers,
	// an undefined id or data, a numeric event name, extra keys, repeated keys
	// (the last wins), string keys written as bin.
	for _, tc := range []struct {
		name string
		hex  string
		want Packet
	}{
		{"float type and id", "84a474797065cb4008000000000000a46461746190a26964cb4000000000000000a36e7370a12f", Packet{Type: Ack, Namespace: "/", ID: 2, HasID: true}},
		{"undefined id", "84a47479706503a46461746190a26964d40000a36e7370a12f", Packet{Type: Ack, Namespace: "/"}},
		{"undefined disconnect data", "83a47479706501a464617461d40000a36e7370a12f", Packet{Type: Disconnect, Namespace: "/"}},
		{"numeric event", "83a47479706502a4646174619201c3a36e7370a12f", Packet{Type: Event, Namespace: "/", Event: "1"}},
		{"extra keys", "84a47479706501a36e7370a12fa178c0aa6174746163686d656e7400", Packet{Type: Disconnect, Namespace: "/"}},
		{"repeated key", "83a47479706502a47479706501a36e7370a12f", Packet{Type: Disconnect, Namespace: "/"}},
		{"bin keys", "82c4047479706501c4036e7370a0", Packet{Type: Disconnect, Namespace: ""}},
		{"empty string nsp", "82a47479706501a36e7370a0", Packet{Type: Disconnect}},
		{"connect error string", "83a47479706504a464617461a178a36e7370a12f", Packet{Type: ConnectError, Namespace: "/"}},
	} {
		b, _ := hex.DecodeString(tc.hex)
		p, err := Msgpack().NewDecoder().Add(Message{Binary: true, Data: b})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p.Type != tc.want.Type || p.Namespace != tc.want.Namespace || p.ID != tc.want.ID || p.HasID != tc.want.HasID || p.Event != tc.want.Event {
			t.Errorf("%s: got %+v, want %+v", tc.name, p, tc.want)
		}
	}
}

// TestMsgpackDecodeInvalidUTF8Namespace is a fuzz finding
// (fuzz/testdata/fuzz/FuzzMsgpackParser/4469d81cd01cb3aa): a namespace with
// invalid UTF-8 was kept as raw bytes, which the JSON parser then wrote
// unchanged and refused to read back. Strings are now read as Node reads them.
func TestMsgpackDecodeInvalidUTF8Namespace(t *testing.T) {
	p, err := Msgpack().NewDecoder().Add(Message{Binary: true, Data: []byte("\x83\xa4type\x02\xa3nsp\xa5/0\x8000\xa4data\x91\xa2\xffa")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Namespace != "/0\ufffd00" || p.Event != "\ufffda" {
		t.Fatalf("namespace %q, event %q", p.Namespace, p.Event)
	}
	msgs, err := JSON.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := JSON.NewDecoder().Add(msgs[0]); err != nil {
		t.Fatalf("JSON could not read back %q: %v", msgs[0].Data, err)
	}
}

// TestMsgpackDecodeUnreadableKey is a fuzz finding
// (fuzz/testdata/fuzz/FuzzMsgpackParser/23d107a0ed027718): a CONNECT_ERROR whose
// data map had an array as a key was accepted, and its Value then failed to
// decode. Such packets are now refused (Node would stringify the key).
func TestMsgpackDecodeUnreadableKey(t *testing.T) {
	_, err := Msgpack().NewDecoder().Add(Message{Binary: true, Data: []byte("\x83\xa4type\x04\xa4data\x8200\x930000\xa3nsp\xa10")})
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("got %v, want ErrSyntax", err)
	}
}
