package msgpack

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxDepth is the nesting limit of a decode when DecodeOptions.MaxDepth is
// zero. Every array and map counts as one level.
const DefaultMaxDepth = 100

// Kind is the family of a msgpack value, as seen by PeekKind.
type Kind uint8

// The kinds of msgpack values. KindUndefined is notepack.io's legacy encoding of
// JavaScript undefined (fixext 1 of type 0), which decodes like nil.
const (
	KindInvalid Kind = iota // empty input or the unused byte 0xc1
	KindNil
	KindUndefined
	KindBool
	KindInt   // every integer format, positive fixint to int 64 / uint 64
	KindFloat // float 32 and float 64
	KindString
	KindBinary // bin 8/16/32 and notepack's legacy ArrayBuffer extension (type 0)
	KindArray
	KindMap
	KindTime // the timestamp extension (type -1) and notepack's legacy Date (fixext 8, type 0)
	KindExt  // any other extension
)

var kindNames = [...]string{"invalid", "nil", "undefined", "bool", "integer", "float", "string", "binary", "array", "map", "timestamp", "extension"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// token is one decoded header: scalars are complete, str/bin/ext carry their
// payload (aliasing the input), arrays and maps carry their element count.
type token struct {
	kind Kind
	neg  bool // KindInt: the value is negative and lives in i
	b    bool
	ext  int8
	u    uint64 // KindInt, non-negative; KindTime: nanoseconds
	i    int64  // KindInt, negative; KindTime: seconds since the epoch
	f    float64
	n    int    // KindArray, KindMap: element / pair count
	data []byte // KindString, KindBinary, KindExt
}

// time returns a KindTime token's time in UTC (time.Unix normalises
// nanoseconds over 1e9, as JavaScript does).
func (t *token) time() time.Time {
	return time.Unix(t.i, int64(t.u)).UTC()
}

// float returns a numeric token as JavaScript sees it.
func (t *token) float() float64 {
	switch {
	case t.kind == KindFloat:
		return t.f
	case t.neg:
		return float64(t.i)
	}
	return float64(t.u)
}

// scanner reads tokens from b.
type scanner struct {
	b     []byte
	off   int
	depth int
	max   int
}

func (s *scanner) errorf(off int, msg string) error {
	return &SyntaxError{Offset: off, Msg: msg}
}

func (s *scanner) truncated() error {
	return s.errorf(len(s.b), "unexpected end of input")
}

// take returns the next n bytes.
func (s *scanner) take(n int) ([]byte, error) {
	if n < 0 || n > len(s.b)-s.off {
		return nil, s.truncated()
	}
	p := s.b[s.off : s.off+n : s.off+n]
	s.off += n
	return p, nil
}

func (s *scanner) size(width int) (int, error) {
	p, err := s.take(width)
	if err != nil {
		return 0, err
	}
	switch width {
	case 1:
		return int(p[0]), nil
	case 2:
		return int(binary.BigEndian.Uint16(p)), nil
	}
	return int(binary.BigEndian.Uint32(p)), nil
}

// next reads one token. Declared lengths are checked against the remaining
// input before anything is allocated: a string or bin must fit, an array of n
// elements needs at least n more bytes and a map of n pairs at least 2n.
func (s *scanner) next() (token, error) {
	var t token
	start := s.off
	if s.off >= len(s.b) {
		return t, s.truncated()
	}
	c := s.b[s.off]
	s.off++
	switch {
	case c < 0x80:
		t.kind, t.u = KindInt, uint64(c)
		return t, nil
	case c < 0x90:
		return s.container(KindMap, int(c&0x0f), start)
	case c < 0xa0:
		return s.container(KindArray, int(c&0x0f), start)
	case c < 0xc0:
		return s.payload(KindString, int(c&0x1f))
	case c >= 0xe0:
		t.kind, t.neg, t.i = KindInt, true, int64(int8(c))
		return t, nil
	}
	var err error
	var n int
	switch c {
	case 0xc0:
		t.kind = KindNil
		return t, nil
	case 0xc2, 0xc3:
		t.kind, t.b = KindBool, c == 0xc3
		return t, nil
	case 0xc4, 0xc5, 0xc6:
		if n, err = s.size(1 << (c - 0xc4)); err != nil {
			return t, err
		}
		return s.payload(KindBinary, n)
	case 0xc7, 0xc8, 0xc9:
		if n, err = s.size(1 << (c - 0xc7)); err != nil {
			return t, err
		}
		p, err := s.take(1)
		if err != nil {
			return t, err
		}
		return s.ext(int8(p[0]), n, start)
	case 0xca:
		p, err := s.take(4)
		if err != nil {
			return t, err
		}
		t.kind, t.f = KindFloat, float64(math.Float32frombits(binary.BigEndian.Uint32(p)))
		return t, nil
	case 0xcb:
		p, err := s.take(8)
		if err != nil {
			return t, err
		}
		t.kind, t.f = KindFloat, math.Float64frombits(binary.BigEndian.Uint64(p))
		return t, nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		p, err := s.take(1 << (c - 0xcc))
		if err != nil {
			return t, err
		}
		t.kind, t.u = KindInt, beUint(p)
		return t, nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		w := 1 << (c - 0xd0)
		p, err := s.take(w)
		if err != nil {
			return t, err
		}
		v := int64(beUint(p)<<(64-8*w)) >> (64 - 8*w) // sign extend
		t.kind = KindInt
		if v < 0 {
			t.neg, t.i = true, v
		} else {
			t.u = uint64(v)
		}
		return t, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		p, err := s.take(1)
		if err != nil {
			return t, err
		}
		return s.ext(int8(p[0]), 1<<(c-0xd4), start)
	case 0xd9, 0xda, 0xdb:
		if n, err = s.size(1 << (c - 0xd9)); err != nil {
			return t, err
		}
		return s.payload(KindString, n)
	case 0xdc, 0xdd:
		if n, err = s.size(2 << (c - 0xdc)); err != nil {
			return t, err
		}
		return s.container(KindArray, n, start)
	case 0xde, 0xdf:
		if n, err = s.size(2 << (c - 0xde)); err != nil {
			return t, err
		}
		return s.container(KindMap, n, start)
	}
	return t, s.errorf(start, "invalid format byte 0xc1")
}

func beUint(p []byte) uint64 {
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

func (s *scanner) payload(k Kind, n int) (token, error) {
	p, err := s.take(n)
	if err != nil {
		return token{}, err
	}
	return token{kind: k, data: p, n: n}, nil
}

func (s *scanner) container(k Kind, n, start int) (token, error) {
	need := n
	if k == KindMap {
		need = 2 * n
	}
	if need > len(s.b)-s.off {
		return token{}, s.errorf(start, k.String()+" length "+strconv.Itoa(n)+" exceeds the input")
	}
	return token{kind: k, n: n}, nil
}

// ext decodes an extension of type typ with n payload bytes, including
// notepack.io's legacy codes and the timestamp extension.
func (s *scanner) ext(typ int8, n, start int) (token, error) {
	p, err := s.take(n)
	if err != nil {
		return token{}, err
	}
	fixed := s.b[start] >= 0xd4 && s.b[start] <= 0xd8
	switch {
	case typ == 0 && fixed && n == 1:
		return token{kind: KindUndefined}, nil
	case typ == 0 && fixed && n == 8: // legacy Date: signed milliseconds
		ms := int64(binary.BigEndian.Uint64(p))
		tm := time.UnixMilli(ms)
		return token{kind: KindTime, i: tm.Unix(), u: uint64(tm.Nanosecond())}, nil
	case typ == 0 && !fixed: // legacy ArrayBuffer
		return token{kind: KindBinary, data: p, n: n}, nil
	case typ == -1 && n == 4:
		return token{kind: KindTime, i: int64(binary.BigEndian.Uint32(p))}, nil
	case typ == -1 && n == 8:
		v := binary.BigEndian.Uint64(p)
		ns := int64(v >> 34)
		return token{kind: KindTime, i: int64(v & (1<<34 - 1)), u: uint64(ns)}, nil
	case typ == -1 && n == 12:
		ns := int64(binary.BigEndian.Uint32(p))
		return token{kind: KindTime, i: int64(binary.BigEndian.Uint64(p[4:])), u: uint64(ns)}, nil
	}
	// Every other extension, including type -1 of other lengths (not a
	// timestamp), is kept as it is.
	return token{kind: KindExt, ext: typ, data: p, n: n}, nil
}

// enter and leave track the nesting depth.
func (s *scanner) enter() error {
	s.depth++
	if s.depth > s.max && (s.max != 0 || s.depth > DefaultMaxDepth) {
		return ErrMaxDepth
	}
	return nil
}

// skip consumes one complete value. The common one-byte headers are handled
// without building a token.
func (s *scanner) skip() error {
	if s.off >= len(s.b) {
		return s.truncated()
	}
	c := s.b[s.off]
	switch {
	case c < 0x80 || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		s.off++
		return nil
	case c >= 0xa0 && c < 0xc0:
		n := int(c & 0x1f)
		if n > len(s.b)-s.off-1 {
			return s.truncated()
		}
		s.off += 1 + n
		return nil
	}
	t, err := s.next()
	if err != nil {
		return err
	}
	return s.skipRest(&t)
}

// skipRest consumes the elements of a container token already read. Map keys
// are checked as the decoder checks them (see keyString), so whatever skip
// accepts also decodes.
func (s *scanner) skipRest(t *token) error {
	switch t.kind {
	case KindArray:
		if err := s.enter(); err != nil {
			return err
		}
		for range t.n {
			if err := s.skip(); err != nil {
				return err
			}
		}
	case KindMap:
		if err := s.enter(); err != nil {
			return err
		}
		for range t.n {
			off := s.off
			if off < len(s.b) && s.b[off] >= 0xa0 && s.b[off] < 0xc0 { // fixstr
				if err := s.skip(); err != nil {
					return err
				}
			} else {
				k, err := s.next()
				if err != nil {
					return err
				}
				if !keyKind(k.kind) {
					return s.errorf(off, "map key of kind "+k.kind.String())
				}
			}
			if err := s.skip(); err != nil {
				return err
			}
		}
	default:
		return nil
	}
	s.depth--
	return nil
}

// keyKind reports whether a map key of kind k converts to a string.
func keyKind(k Kind) bool {
	switch k {
	case KindString, KindBinary, KindInt, KindFloat, KindBool, KindNil, KindUndefined:
		return true
	}
	return false
}

// keyString converts a map key to the property name JavaScript uses
// (notepack.io stringifies keys): strings and binary as their bytes, numbers as
// JavaScript prints them, booleans, nil ("null") and undefined ("undefined").
// Arrays, maps and extensions are rejected.
func (s *scanner) keyString(t *token, off int) (string, error) {
	switch t.kind {
	case KindString, KindBinary:
		return jsString(t.data), nil
	case KindInt:
		if t.neg {
			return strconv.FormatInt(t.i, 10), nil
		}
		if t.u < 1<<53 {
			return strconv.FormatUint(t.u, 10), nil
		}
		return jsNumber(float64(t.u)), nil
	case KindFloat:
		return jsNumber(t.f), nil
	case KindBool:
		return strconv.FormatBool(t.b), nil
	case KindNil:
		return "null", nil
	case KindUndefined:
		return "undefined", nil
	}
	return "", s.errorf(off, "map key of kind "+t.kind.String())
}

// jsNumber formats f like JavaScript's Number.prototype.toString.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	a := math.Abs(f)
	if a >= 1e-6 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}
