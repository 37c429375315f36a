package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// PacketType is the type of an Engine.IO packet, the first character of its text form.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	PacketOpen    PacketType = 0 // server -> client handshake, JSON payload
	PacketClose   PacketType = 1 // close the session
	PacketPing    PacketType = 2 // heartbeat (server -> client), "2probe" during an upgrade
	PacketPong    PacketType = 3 // heartbeat answer, "3probe" during an upgrade
	PacketMessage PacketType = 4 // application data
	PacketUpgrade PacketType = 5 // client -> server: the upgrade is complete
	PacketNoop    PacketType = 6 // server -> client: releases a pending poll
)

var packetTypeNames = [...]string{"open", "close", "ping", "pong", "message", "upgrade", "noop"}

// String returns the protocol's name of t ("open", "close", ...).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return "unknown"
}

// Packet is one Engine.IO packet. Binary is meaningful for PacketMessage only: its
// Data is then raw bytes, written as "b" + base64 in the text form.
type Packet struct {
	Type   PacketType
	Binary bool
	Data   []byte
}

// Codec errors. ParsePacket and ParsePayload return them (possibly wrapped in a
// *ParseError), so errors.Is works on every error of the codec.
var (
	ErrEmptyPacket       = errors.New("engineio: empty packet")
	ErrUnknownPacketType = errors.New("engineio: unknown packet type")
	ErrBadBase64         = errors.New("engineio: bad base64 in binary packet")
	ErrPayloadTooLarge   = errors.New("engineio: payload too large")
)

// ParseError reports where in a polling payload a packet failed to parse.
type ParseError struct {
	Offset int   // byte offset of the bad packet in the payload
	Err    error // one of the codec's sentinel errors
}

// Error returns the sentinel's message.
func (e *ParseError) Error() string { return e.Err.Error() }

// Unwrap returns the sentinel error.
func (e *ParseError) Unwrap() error { return e.Err }

// recordSeparator separates the packets of a polling payload.
const recordSeparator = 0x1e

// AppendPacket appends the text form of p to dst and returns the extended buffer:
// the type digit followed by Data, or for a binary message "b" followed by the
// standard base64 of Data. It allocates only when dst lacks capacity.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, '0'+byte(p.Type))
	return append(dst, p.Data...)
}

// ParsePacket decodes the text form of one packet. For a text packet, Data aliases
// b (and is nil when the packet has no payload); for a binary message ("b" +
// base64, padded or not), Data is a newly allocated slice.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmptyPacket
	}
	c := b[0]
	if c == 'b' {
		data, err := decodeBase64(b[1:])
		if err != nil {
			return Packet{}, err
		}
		return Packet{Type: PacketMessage, Binary: true, Data: data}, nil
	}
	if c < '0' || c > '6' {
		return Packet{}, ErrUnknownPacketType
	}
	p := Packet{Type: PacketType(c - '0')}
	if len(b) > 1 {
		p.Data = b[1:]
	}
	return p, nil
}

func decodeBase64(src []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(src)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	dst := make([]byte, enc.DecodedLen(len(src)))
	n, err := enc.Decode(dst, src)
	if err != nil {
		return nil, ErrBadBase64
	}
	return dst[:n], nil
}

// AppendPayload appends the polling payload of ps to dst: the text form of each
// packet, separated by the record separator 0x1e.
func AppendPayload(dst []byte, ps []Packet) []byte {
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = AppendPacket(dst, p)
	}
	return dst
}

// ParsePayload decodes a polling payload and calls fn with each packet in order.
// max bounds len(b) in bytes (0 or less: no bound); a longer payload is refused
// with ErrPayloadTooLarge before any packet is decoded. Decoding stops at the first
// malformed packet (returned as a *ParseError, after fn has seen the packets before
// it) or at the first error fn returns, which ParsePayload returns unchanged. An
// empty payload is a single empty packet, hence an error. Packets' Data is valid as
// described for ParsePacket.
func ParsePayload(b []byte, max int, fn func(Packet) error) error {
	if max > 0 && len(b) > max {
		return ErrPayloadTooLarge
	}
	off := 0
	for {
		end := bytes.IndexByte(b[off:], recordSeparator)
		last := end < 0
		if last {
			end = len(b)
		} else {
			end += off
		}
		p, err := ParsePacket(b[off:end])
		if err != nil {
			return &ParseError{Offset: off, Err: err}
		}
		if err := fn(p); err != nil {
			return err
		}
		if last {
			return nil
		}
		off = end + 1
	}
}
