package parser

import (
	"math"
	"strconv"
	"sync"
	"unicode/utf8"
)

// jsonDecoder reassembles the packets of one connection. Its state machine has
// two states: idle (pending == nil), where a text message is decoded and a
// binary one is an error, and collecting (pending != nil), where binary
// messages are taken as attachments until the declared count is reached and a
// text message is an error. Any error returns it to idle.
//
// A decoder is kept per connection, so it holds little while idle: the
// scanner and its scratch come from a pool for the time of one Add, and the
// state of a binary packet exists while it collects.
type jsonDecoder struct {
	maxAtt int
	scr    *decodeScratch // during decodeText
	bin    *binaryState   // made by the first binary packet; collecting while bin.pending != nil

	names map[string]string // interned event names and namespaces
}

// decodeScratch is the working memory of one decodeText call.
type decodeScratch struct {
	sc    scanner
	spans []span // the argument elements of the packet being decoded
}

var decodeScratchPool = sync.Pool{New: func() any { return new(decodeScratch) }}

// maxPooledSpans bounds the spans a pooled scratch keeps.
const maxPooledSpans = 64

// binaryState is a binary packet waiting for its attachments.
type binaryState struct {
	pending *Packet     // the packet
	vals    []jsonValue // its values, completed with atts
	want    int         // attachments it declares
	atts    [][]byte
}

type span struct {
	start, end int
	flags      uint8
}

// maxInterned bounds the event names and namespaces a decoder remembers, so
// that repeated ones cost no allocation.
const maxInterned = 256

func (d *jsonDecoder) Add(m Message) (*Packet, error) {
	if m.Binary {
		b := d.bin
		if b == nil || b.pending == nil {
			return nil, newError(ErrUnexpectedBinary, "")
		}
		b.atts = append(b.atts, m.Data)
		if len(b.atts) < b.want {
			return nil, nil
		}
		p, vals, atts := b.pending, b.vals, b.atts
		d.reset()
		for i := range vals {
			vals[i].atts = atts
		}
		return p, nil
	}
	if d.bin != nil && d.bin.pending != nil {
		d.reset()
		return nil, newError(ErrUnexpectedText, "")
	}
	scr := decodeScratchPool.Get().(*decodeScratch)
	d.scr = scr
	p, vals, n, err := d.decodeText(m.Data)
	d.scr = nil
	scr.sc.data = nil // keep no reference to the message
	if cap(scr.spans) <= maxPooledSpans {
		decodeScratchPool.Put(scr)
	}
	if err != nil || n == 0 {
		return p, err
	}
	if d.bin == nil {
		d.bin = new(binaryState)
	}
	*d.bin = binaryState{pending: p, vals: vals, want: n, atts: make([][]byte, 0, n)}
	return nil, nil
}

func (d *jsonDecoder) reset() {
	if d.bin != nil {
		*d.bin = binaryState{}
	}
}

func (d *jsonDecoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(d.names) < maxInterned && len(b) <= 64 {
		if d.names == nil {
			d.names = make(map[string]string)
		}
		d.names[s] = s
	}
	return s
}

// decodeText decodes a text packet; n is the number of attachments it declares.
func (d *jsonDecoder) decodeText(b []byte) (p *Packet, vals []jsonValue, n int, err error) {
	if len(b) == 0 {
		return nil, nil, 0, newError(ErrEmpty, "")
	}
	t := PacketType(b[0] - '0')
	if b[0] < '0' || !t.Valid() {
		return nil, nil, 0, newError(ErrUnknownType, strconv.QuoteRune(rune(b[0])))
	}
	i := 1
	if t == BinaryEvent || t == BinaryAck {
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if j == i || j >= len(b) || b[j] != '-' {
			return nil, nil, 0, newError(ErrInvalidAttachments, "expected a count and '-'")
		}
		if j-i > 9 {
			return nil, nil, 0, newError(ErrTooManyAttachments, "")
		}
		n = smallUintLeadingZeros(b[i:j])
		switch {
		case n < 1:
			return nil, nil, 0, newError(ErrInvalidAttachments, "count must be at least 1")
		case n > d.maxAtt:
			return nil, nil, 0, newError(ErrTooManyAttachments, strconv.Itoa(n)+" > "+strconv.Itoa(d.maxAtt))
		}
		i = j + 1
	}
	nsp := "/"
	if i < len(b) && b[i] == '/' {
		j := i
		for j < len(b) && b[j] != ',' {
			j++
		}
		if !utf8.Valid(b[i:j]) {
			return nil, nil, 0, newError(ErrInvalidNamespace, "not UTF-8")
		}
		if j-i > 1 {
			nsp = d.intern(b[i:j])
		}
		i = j
		if i < len(b) {
			i++ // the ','
		}
	}
	var id uint64
	hasID := false
	if i < len(b) && isDigit(b[i]) {
		hasID = true
		for ; i < len(b) && isDigit(b[i]); i++ {
			c := uint64(b[i] - '0')
			if id > (1<<64-1-c)/10 {
				return nil, nil, 0, newError(ErrInvalidID, "ack id overflows 64 bits")
			}
			id = id*10 + c
		}
	}
	base := t
	switch t {
	case BinaryEvent:
		base = Event
	case BinaryAck:
		base = Ack
	}
	if i == len(b) {
		switch base {
		case Connect, Disconnect:
			return &Packet{Type: base, Namespace: nsp, ID: id, HasID: hasID}, nil, 0, nil
		}
		return nil, nil, 0, newError(ErrInvalidPayload, t.String()+" needs a payload")
	}
	s := &d.scr.sc
	s.reset(b, n)
	j := s.skipWS(i)
	switch base {
	case Disconnect:
		return nil, nil, 0, newError(ErrInvalidPayload, "DISCONNECT has no payload")
	case Connect, ConnectError:
		if j >= len(b) || !(b[j] == '{' || b[j] == '"' && base == ConnectError) {
			return nil, nil, 0, newError(ErrInvalidPayload, t.String()+" payload must be an object")
		}
		s.ws = false
		end, err := s.value(j)
		if err != nil {
			return nil, nil, 0, err
		}
		if err := d.end(end); err != nil {
			return nil, nil, 0, err
		}
		bx := &dataBox{v: jsonValue{raw: b[j:end]}}
		if s.ws {
			bx.v.flags = valueSpaced
		}
		bx.p = Packet{Type: base, Namespace: nsp, ID: id, HasID: hasID, Data: &bx.v}
		return &bx.p, nil, 0, nil
	}
	// EVENT and ACK: an array, split into its elements.
	if j >= len(b) || b[j] != '[' {
		return nil, nil, 0, newError(ErrInvalidPayload, t.String()+" payload must be an array")
	}
	s.depth = 1
	spans := d.scr.spans[:0]
	var event string
	j = s.skipWS(j + 1)
	if j < len(b) && b[j] == ']' {
		if base == Event {
			return nil, nil, 0, newError(ErrInvalidPayload, "EVENT payload must not be empty")
		}
		j++
	} else {
		for k := 0; ; k++ {
			if k == 0 && base == Event {
				if event, j, err = d.eventName(j); err != nil {
					return nil, nil, 0, err
				}
			} else {
				start, count := j, s.count
				s.ws = false
				if j, err = s.value(j); err != nil {
					return nil, nil, 0, err
				}
				var f uint8
				if s.ws {
					f |= valueSpaced
				}
				if s.count != count {
					f |= valueBinary
				}
				spans = append(spans, span{start, j, f})
			}
			j = s.skipWS(j)
			if j >= len(b) {
				return nil, nil, 0, syntaxError("unterminated array")
			}
			if b[j] == ']' {
				j++
				break
			}
			if b[j] != ',' {
				return nil, nil, 0, syntaxError("expected ',' or ']' in array")
			}
			j = s.skipWS(j + 1)
		}
	}
	d.scr.spans = spans
	if err := d.end(j); err != nil {
		return nil, nil, 0, err
	}
	if s.count != n {
		return nil, nil, 0, newError(ErrPlaceholder, "packet declares "+strconv.Itoa(n)+
			" attachments but holds "+strconv.Itoa(s.count)+" placeholders")
	}
	// One allocation for the packet and its first few values.
	var args []any
	switch k := len(spans); {
	case k == 0:
		p = &Packet{}
	case k == 1:
		bx := &box1{}
		p, vals, args = &bx.p, bx.v[:], bx.a[:]
	case k == 2:
		bx := &box2{}
		p, vals, args = &bx.p, bx.v[:], bx.a[:]
	case k <= 4:
		bx := &box4{}
		p, vals, args = &bx.p, bx.v[:k:k], bx.a[:k:k]
	default:
		p = &Packet{}
		vals, args = make([]jsonValue, k), make([]any, k)
	}
	for k, sp := range spans {
		vals[k] = jsonValue{raw: b[sp.start:sp.end], flags: sp.flags}
		args[k] = &vals[k]
	}
	*p = Packet{Type: base, Namespace: nsp, ID: id, HasID: hasID, Event: event, Args: args}
	return p, vals, n, nil
}

type dataBox struct {
	p Packet
	v jsonValue
}

type box1 struct {
	p Packet
	v [1]jsonValue
	a [1]any
}

type box2 struct {
	p Packet
	v [2]jsonValue
	a [2]any
}

type box4 struct {
	p Packet
	v [4]jsonValue
	a [4]any
}

// end checks that only whitespace follows the payload.
func (d *jsonDecoder) end(i int) error {
	if s := &d.scr.sc; s.skipWS(i) != len(s.data) {
		return syntaxError("data after the payload")
	}
	return nil
}

// eventName decodes the first element of an EVENT payload at data[i]: a string
// that is not a reserved name, or a number (which the reference accepts too).
func (d *jsonDecoder) eventName(i int) (name string, end int, err error) {
	s := &d.scr.sc
	b := s.data
	if i >= len(b) {
		return "", i, syntaxError("unterminated array")
	}
	switch c := b[i]; {
	case c == '"':
		end, esc, err := s.str(i)
		if err != nil {
			return "", end, err
		}
		raw := b[i+1 : end-1]
		if esc || !utf8.Valid(raw) {
			name = string(appendUnescaped(nil, raw))
		} else {
			name = d.intern(raw)
		}
		if IsReservedEvent(name) {
			return "", end, newError(ErrReservedEvent, strconv.Quote(name))
		}
		return name, end, nil
	case c == '-' || isDigit(c):
		end, err := s.number(i)
		if err != nil {
			return "", end, err
		}
		f, _ := strconv.ParseFloat(string(b[i:end]), 64)
		switch {
		case math.IsInf(f, 1):
			name = "Infinity" // String(n) in JavaScript
		case math.IsInf(f, -1):
			name = "-Infinity"
		default:
			name = string(appendFloat(nil, f, 64))
		}
		return name, end, nil
	}
	return "", i, newError(ErrInvalidPayload, "EVENT name must be a string or a number")
}

// smallUintLeadingZeros parses at most 9 digits.
func smallUintLeadingZeros(b []byte) int {
	n := 0
	for _, c := range b {
		n = n*10 + int(c-'0')
	}
	return n
}
