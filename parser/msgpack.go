package parser

// The msgpack parser.
//
// Msgpack is byte-compatible with npm socket.io-msgpack-parser 3.0 (which
// encodes with notepack.io 3.0; see internal/msgpack). Every packet is ONE
// binary Engine.IO message holding a msgpack map; there are no attachments, so
// []byte values travel inline as msgpack bin at any depth and BINARY_EVENT /
// BINARY_ACK are written as EVENT / ACK (the msgpack parser has no types 5 and
// 6 on the wire).
//
// socket.io-msgpack-parser 3.0 bundles notepack.io 2.2 (not 3.0), so values
// are written with msgpack.EncodeOptions.Notepack2: a time.Time becomes
// notepack 2's Date extension, which Node decodes into a Date.
//
// The map has the keys the reference's packet objects have, in the order npm
// socket.io 4.8's server (and, for CONNECT, socket.io-client) builds them:
//
//	EVENT          type, data: [event, ...args], id (when HasID), nsp
//	ACK            id, type, data: [...args], nsp
//	CONNECT        type, data, nsp (nil Data is written as notepack 2's
//	               undefined, d4 00 00, as the Node client sends it)
//	DISCONNECT     type, nsp
//	CONNECT_ERROR  type, data, nsp
//
// (socket.io-client writes an ACK as type, id, data, nsp; key order never
// matters when decoding.) An empty Namespace is written as "/". A Go struct
// field with ",omitempty" is left out where Node would write an undefined
// property as d4 00 00 (for example the data of a ConnectError without data);
// both decode the same.
//
// Decoding validates like socket.io-msgpack-parser's checkPacket: the message
// must be binary and exactly one msgpack map; type an integer from 0 to 4
// (ErrUnknownType); nsp a string (ErrInvalidNamespace); id absent or a
// non-negative integer (ErrInvalidID; a JavaScript peer could send a negative
// one, which Packet.ID cannot hold); data absent or a map for CONNECT, absent
// for DISCONNECT, a string or map for CONNECT_ERROR, an array for EVENT and ACK
// (ErrInvalidPayload). Like socket.io-parser (and stricter than
// socket.io-msgpack-parser), an EVENT needs a string or number name first
// (a number becomes its JavaScript string form) and a reserved name is
// ErrReservedEvent. Malformed msgpack is ErrSyntax. Strings (the namespace and
// event name included) with invalid UTF-8 are read with U+FFFD replacements,
// as Node reads them. A map key that is an array, a map or an extension (which
// notepack.io would stringify) makes the packet ErrSyntax, so that every
// decoded Value also decodes into an *any.
//
// Decoded Args (and Data) are Values that keep their raw msgpack bytes, which
// alias the message (the decoder does not copy it). Decode(&any) gives the
// generic tree of internal/msgpack: float64 numbers, []byte for bin, and also
// time.Time for a timestamp (a JavaScript Date) and msgpack.Ext for other
// extensions. Encoding a Value of this parser appends its raw bytes unchanged;
// a Value of another parser is encoded from its Decode(&any).

import (
	"errors"

	"github.com/corvid-io/corvid/internal/msgpack"
)

// Msgpack returns the msgpack parser, byte-compatible with npm
// socket.io-msgpack-parser 3.0. It is stateless and safe for concurrent use.
func Msgpack() Parser { return msgpackParser{} }

type msgpackParser struct{}

// msgpackValue is a received value of the msgpack parser: its raw bytes.
type msgpackValue struct {
	raw []byte
}

// Decode implements Value.
func (v *msgpackValue) Decode(x any) error {
	return msgpack.Unmarshal(v.raw, x)
}

// AppendMsgpack re-encodes the value from its raw bytes.
func (v *msgpackValue) AppendMsgpack(dst []byte) ([]byte, error) {
	return append(dst, v.raw...), nil
}

// Pre-encoded keys.
var (
	mpKeyType = msgpack.AppendString(nil, "type")
	mpKeyData = msgpack.AppendString(nil, "data")
	mpKeyID   = msgpack.AppendString(nil, "id")
	mpKeyNsp  = msgpack.AppendString(nil, "nsp")
	// mpUndefined is notepack 2.2's undefined (fixext 1 of type 0).
	mpUndefined = []byte{0xd4, 0, 0}
	// mpOptions: socket.io-msgpack-parser 3.0 bundles notepack.io 2.2.
	mpOptions = &msgpack.EncodeOptions{Notepack2: true}
)

func (msgpackParser) Encode(p *Packet) ([]Message, error) {
	b, err := appendMsgpackPacket(make([]byte, 0, 64), p)
	if err != nil {
		return nil, err
	}
	return []Message{{Binary: true, Data: b}}, nil
}

func appendMsgpackPacket(b []byte, p *Packet) ([]byte, error) {
	typ := p.Type
	switch typ {
	case BinaryEvent:
		typ = Event
	case BinaryAck:
		typ = Ack
	}
	if typ > ConnectError {
		return nil, newError(ErrUnknownType, p.Type.String())
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	var err error
	switch typ {
	case Event:
		if IsReservedEvent(p.Event) {
			return nil, newError(ErrReservedEvent, p.Event)
		}
		n := 3
		if p.HasID {
			n++
		}
		b = msgpack.AppendMapHeader(b, n)
		b = append(append(b, mpKeyType...), byte(typ))
		b = append(b, mpKeyData...)
		b = msgpack.AppendArrayHeader(b, 1+len(p.Args))
		b = msgpack.AppendString(b, p.Event)
		if b, err = appendMsgpackArgs(b, p.Args); err != nil {
			return nil, err
		}
		if p.HasID {
			b = msgpack.AppendUint(append(b, mpKeyID...), p.ID)
		}
	case Ack:
		n := 3
		if p.HasID {
			n++
		}
		b = msgpack.AppendMapHeader(b, n)
		if p.HasID {
			b = msgpack.AppendUint(append(b, mpKeyID...), p.ID)
		}
		b = append(append(b, mpKeyType...), byte(typ))
		b = append(b, mpKeyData...)
		b = msgpack.AppendArrayHeader(b, len(p.Args))
		if b, err = appendMsgpackArgs(b, p.Args); err != nil {
			return nil, err
		}
	case Connect, ConnectError:
		if p.Data == nil && typ == ConnectError {
			return nil, newError(ErrInvalidPayload, "CONNECT_ERROR without data")
		}
		b = msgpack.AppendMapHeader(b, 3)
		b = append(append(b, mpKeyType...), byte(typ))
		b = append(b, mpKeyData...)
		if p.Data == nil {
			b = append(b, mpUndefined...)
			break
		}
		if b, err = msgpack.AppendOptions(b, p.Data, mpOptions); err != nil {
			return nil, msgpackEncodeError(err)
		}
	case Disconnect:
		b = msgpack.AppendMapHeader(b, 2)
		b = append(append(b, mpKeyType...), byte(typ))
	}
	b = msgpack.AppendString(append(b, mpKeyNsp...), nsp)
	return b, nil
}

func appendMsgpackArgs(b []byte, args []any) ([]byte, error) {
	var err error
	for _, a := range args {
		if b, err = msgpack.AppendOptions(b, a, mpOptions); err != nil {
			return nil, msgpackEncodeError(err)
		}
	}
	return b, nil
}

func msgpackEncodeError(err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err // from a foreign Value's Decode
	}
	return &Error{Kind: ErrUnsupportedValue, Detail: err.Error()}
}

func (msgpackParser) NewDecoder() Decoder { return &msgpackDecoder{} }

type msgpackDecoder struct{}

// Add decodes one message. The decoder keeps no state between messages.
func (d *msgpackDecoder) Add(m Message) (*Packet, error) {
	return decodeMsgpackPacket(m)
}

func decodeMsgpackPacket(m Message) (*Packet, error) {
	if len(m.Data) == 0 {
		return nil, newError(ErrEmpty, "")
	}
	if !m.Binary {
		return nil, newError(ErrSyntax, "msgpack packets are binary messages")
	}
	var r msgpack.Reader
	r.Reset(m.Data)
	n, err := r.ReadMapHeader()
	if err != nil {
		if r.PeekKind() != msgpack.KindMap && r.PeekKind() != msgpack.KindInvalid {
			// Valid msgpack that is not a map: JavaScript sees no type.
			if _, err2 := r.ReadRaw(); err2 == nil && r.Remaining() == 0 {
				return nil, newError(ErrUnknownType, "packet is not a map")
			}
		}
		return nil, mpSyntaxError(err)
	}
	var typ, data, id, nsp []byte
	// items are the elements of data when it is an array, read in the same
	// pass (the keys may come in any order, so the type is not known yet).
	var items []msgpackValue
	for range n {
		k, err := r.ReadKeyBytes()
		if err != nil {
			return nil, mpSyntaxError(err)
		}
		if string(k) == "data" && r.PeekKind() == msgpack.KindArray {
			start := r.Offset()
			if items, err = mpReadItems(&r); err != nil {
				return nil, err
			}
			data = m.Data[start:r.Offset()]
			continue
		}
		v, err := r.ReadRaw()
		if err != nil {
			return nil, mpSyntaxError(err)
		}
		switch string(k) {
		case "type":
			typ = v
		case "data":
			data, items = v, nil
		case "id":
			id = v
		case "nsp":
			nsp = v
		}
	}
	if r.Remaining() != 0 {
		return nil, newError(ErrSyntax, "trailing bytes")
	}

	p := &Packet{}
	// type: an integer from 0 to 4 (a msgpack int, or a float holding one).
	t, ok := msgpack.Int(typ)
	if !ok || t < 0 || t > int64(ConnectError) {
		return nil, newError(ErrUnknownType, "")
	}
	p.Type = PacketType(t)
	// nsp: a string.
	if len(nsp) == 2 && nsp[0] == 0xa1 && nsp[1] == '/' {
		p.Namespace = "/"
	} else if p.Namespace, ok = msgpack.String(nsp); !ok {
		return nil, newError(ErrInvalidNamespace, "")
	}
	// data: by type.
	dk := msgpack.PeekKind(data)
	switch p.Type {
	case Connect:
		if dk == msgpack.KindMap {
			p.Data = &msgpackValue{raw: data}
		} else if !mpIsUndefined(dk) {
			return nil, newError(ErrInvalidPayload, "CONNECT data must be a map")
		}
	case Disconnect:
		if !mpIsUndefined(dk) {
			return nil, newError(ErrInvalidPayload, "DISCONNECT has no data")
		}
	case ConnectError:
		if dk != msgpack.KindMap && dk != msgpack.KindString {
			return nil, newError(ErrInvalidPayload, "CONNECT_ERROR data must be a string or a map")
		}
		p.Data = &msgpackValue{raw: data}
	case Event, Ack:
		if dk != msgpack.KindArray {
			return nil, newError(ErrInvalidPayload, p.Type.String()+" data must be an array")
		}
		if p.Type == Event {
			if len(items) == 0 {
				return nil, newError(ErrInvalidPayload, "EVENT needs a name")
			}
			name, err := mpEventName(items[0].raw)
			if err != nil {
				return nil, err
			}
			p.Event = name
			items = items[1:]
		}
		if len(items) > 0 {
			p.Args = make([]any, len(items))
			for i := range items {
				p.Args[i] = &items[i]
			}
		}
	}
	// id: absent or a non-negative integer.
	if !mpIsUndefined(msgpack.PeekKind(id)) {
		v, ok := msgpack.Uint(id)
		if !ok {
			return nil, newError(ErrInvalidID, "")
		}
		p.ID, p.HasID = v, true
	}
	return p, nil
}

// mpIsUndefined: the key was absent or held notepack's undefined.
func mpIsUndefined(k msgpack.Kind) bool {
	return k == msgpack.KindInvalid || k == msgpack.KindUndefined
}

// mpReadItems reads an array, keeping each element as a Value (one allocation
// for all of them).
func mpReadItems(r *msgpack.Reader) ([]msgpackValue, error) {
	n, err := r.ReadArrayHeader()
	if err != nil {
		return nil, mpSyntaxError(err)
	}
	defer r.Leave()
	if n == 0 {
		return nil, nil
	}
	items := make([]msgpackValue, n) // n <= the bytes left
	for i := range items {
		if items[i].raw, err = r.ReadRaw(); err != nil {
			return nil, mpSyntaxError(err)
		}
	}
	return items, nil
}

// mpEventName reads an event name: a string, or a number in its JavaScript
// string form.
func mpEventName(raw []byte) (string, error) {
	switch msgpack.PeekKind(raw) {
	case msgpack.KindString, msgpack.KindInt, msgpack.KindFloat:
	default:
		return "", newError(ErrInvalidPayload, "EVENT needs a string or number name")
	}
	var r msgpack.Reader
	r.Reset(raw)
	name, err := r.ReadKey() // String(name), as JavaScript would
	if err != nil {
		return "", mpSyntaxError(err)
	}
	if IsReservedEvent(name) {
		return "", newError(ErrReservedEvent, name)
	}
	return name, nil
}

func mpSyntaxError(err error) error {
	return &Error{Kind: ErrSyntax, Detail: err.Error()}
}

var (
	_ Value             = (*msgpackValue)(nil)
	_ msgpack.Marshaler = (*msgpackValue)(nil)
)
