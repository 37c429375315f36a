package parser

import "strconv"

// PacketType is the type of a Socket.IO packet, the first digit of its text form.
type PacketType byte

// The Socket.IO v5 packet types.
const (
	Connect      PacketType = 0
	Disconnect   PacketType = 1
	Event        PacketType = 2
	Ack          PacketType = 3
	ConnectError PacketType = 4
	BinaryEvent  PacketType = 5
	BinaryAck    PacketType = 6
)

var packetTypeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the reference name of t ("EVENT", "BINARY_ACK", ...).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= BinaryAck }

// Message is one Engine.IO message: text or binary. It has the same shape as
// engineio.Message, so that the two convert into each other.
type Message struct {
	Binary bool
	Data   []byte
}

// Packet is one Socket.IO packet. Outgoing packets carry Go values; decoded ones
// carry Values whose conversion to Go is deferred until a handler asks.
type Packet struct {
	Type      PacketType
	Namespace string // "/" when the wire omits it
	ID        uint64 // ack id, meaningful when HasID
	HasID     bool
	// Event is the event name of an EVENT or BINARY_EVENT packet; it is decoded
	// eagerly because it is needed for dispatch. A numeric first element (which
	// the reference accepts) is decoded as its JavaScript string form ("1").
	Event string
	// Args are the EVENT arguments after the name, or the ACK arguments.
	// Outgoing: Go values, where []byte at any depth becomes a binary attachment.
	// Incoming: each element is a Value.
	Args []any
	// Data is the CONNECT or CONNECT_ERROR payload: an outgoing Go value (nil
	// for none) or, when decoded, a Value (nil when the packet had none).
	Data any
}

// Value is one received value in its parser's encoding, with its binary
// attachments resolved lazily.
//
// Encoders accept a Value anywhere a Go value may stand (forwarding received
// arguments, e.g. an echo): their own parser's Values are re-encoded from the raw
// form without going through Go values; another parser's through Decode(&any).
type Value interface {
	// Decode stores the value in v, like json.Unmarshal; binary placeholders
	// resolve to []byte. Into *any it stores map[string]any, []any, string,
	// float64, bool, nil, and []byte for binary, at any depth.
	Decode(v any) error
}

// Parser is a Socket.IO packet codec. A server or client picks one; JSON is the
// default.
type Parser interface {
	// Encode returns the Engine.IO messages of p: the packet and then its
	// attachments. The messages may share memory with p (binary attachments are
	// not copied); neither may be modified until the messages are sent.
	Encode(p *Packet) ([]Message, error)
	// NewDecoder returns a per-connection decoder (binary reassembly state).
	NewDecoder() Decoder
}

// Decoder turns the Engine.IO messages of one connection back into packets. It
// is not safe for concurrent use.
type Decoder interface {
	// Add feeds one Engine.IO message; it returns a packet when one is complete,
	// (nil, nil) while a binary packet waits for attachments, and a typed error
	// (an *Error) on bad input. The returned packet may share memory with the
	// messages fed to it; they must not be modified afterwards.
	Add(m Message) (*Packet, error)
}

// reservedEvents are the event names that must not travel on the wire; the
// reference parser rejects packets that carry them.
var reservedEvents = [...]string{
	"connect",
	"connect_error",
	"disconnect",
	"disconnecting",
	"newListener",
	"removeListener",
}

// IsReservedEvent reports whether name is one of the event names the protocol
// reserves (connect, connect_error, disconnect, disconnecting, newListener,
// removeListener). Such events are rejected by encoders and decoders.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}
