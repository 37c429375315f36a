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

// scratch buffers for Encode: the text is built in one and copied out once.
var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Encode returns the text message of p followed by one binary message per
// attachment. It allocates the text once; the attachments are p's own slices.
func (*JSONParser) Encode(p *Packet) ([]Message, error) {
	bp := scratchPool.Get().(*[]byte)
	var attsBuf [4][]byte
	text, atts, err := AppendPacket((*bp)[:0], attsBuf[:0], p)
	if err != nil {
		scratchPool.Put(bp)
		return nil, err
	}
	msgs := make([]Message, 1+len(atts))
	msgs[0] = Message{Data: append([]byte(nil), text...)}
	for i, a := range atts {
		msgs[1+i] = Message{Binary: true, Data: a}
	}
	if cap(text) <= 64<<10 {
		*bp = text[:0]
		scratchPool.Put(bp)
	}
	return msgs, nil
}

// NewDecoder returns a decoder for one connection.
func (p *JSONParser) NewDecoder() Decoder {
	return &jsonDecoder{maxAtt: p.opts.MaxAttachments}
}
