package parser

import "sync"

// DefaultMaxAttachments is the default bound on the binary attachments of one
// received packet, as in socket.io-parser 4.2.
const DefaultMaxAttachments = 10

// JSONOptions configure a JSON parser. The zero value (or nil) means the defaults.
type JSONOptions struct {
	// MaxAttachments bounds the binary attachments a received packet may
	// declare; a packet declaring more is refused with ErrTooManyAttachments.
	// Zero means DefaultMaxAttachments.
	MaxAttachments int
}

// JSONParser is the JSON codec, byte-compatible with npm socket.io-parser 4.2.
type JSONParser struct {
	opts JSONOptions
}

var _ Parser = (*JSONParser)(nil)

// JSON is the default parser: a JSONParser with the default options.
var JSON Parser = NewJSON(nil)

// NewJSON returns a JSON parser; opts may be nil.
func NewJSON(opts *JSONOptions) *JSONParser {
	p := &JSONParser{}
	if opts != nil {
		p.opts = *opts
	}
	if p.opts.MaxAttachments <= 0 {
		p.opts.MaxAttachments = DefaultMaxAttachments
	}
	return p
}

// encodeScratch holds Encode's working buffers: the text is built in one and
// copied out once.
type encodeScratch struct {
	text []byte
	atts [][]byte
}

var scratchPool = sync.Pool{New: func() any { return &encodeScratch{text: make([]byte, 0, 512)} }}

// Encode returns the text message of p followed by one binary message per
// attachment. It allocates the text and the message slice (together, for a
// text packet of up to 256 bytes); the attachments are p's own slices.
func (*JSONParser) Encode(p *Packet) ([]Message, error) {
	sc := scratchPool.Get().(*encodeScratch)
	text, atts, err := AppendPacket(sc.text[:0], sc.atts[:0], p)
	if err != nil {
		scratchPool.Put(sc)
		return nil, err
	}
	var msgs []Message
	if len(atts) == 0 && len(text) <= 256 {
		msgs = smallText(text)
	} else {
		msgs = make([]Message, 1+len(atts))
		msgs[0] = Message{Data: append([]byte(nil), text...)}
		for i, a := range atts {
			msgs[1+i] = Message{Binary: true, Data: a}
		}
	}
	clear(atts) // the pool must not keep the caller's bytes alive
	if cap(text) <= 64<<10 && cap(atts) <= 1024 {
		sc.text, sc.atts = text[:0], atts[:0]
		scratchPool.Put(sc)
	}
	return msgs, nil
}

// Small text packets (most emits and acks) are returned in one allocation:
// the message slice and the bytes it points to.
type (
	text64 struct {
		m [1]Message
		b [64]byte
	}
	text128 struct {
		m [1]Message
		b [128]byte
	}
	text256 struct {
		m [1]Message
		b [256]byte
	}
)

// smallText returns a one-message slice holding a copy of text (at most 256 bytes).
func smallText(text []byte) []Message {
	var m []Message
	var b []byte
	switch n := len(text); {
	case n <= 64:
		x := new(text64)
		m, b = x.m[:], x.b[:n:n]
	case n <= 128:
		x := new(text128)
		m, b = x.m[:], x.b[:n:n]
	default:
		x := new(text256)
		m, b = x.m[:], x.b[:n:n]
	}
	copy(b, text)
	m[0] = Message{Data: b}
	return m
}

// NewDecoder returns a decoder for one connection.
func (p *JSONParser) NewDecoder() Decoder {
	return &jsonDecoder{maxAtt: p.opts.MaxAttachments}
}
