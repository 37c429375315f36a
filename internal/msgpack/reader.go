package msgpack

// Reader walks one message value by value without building Go values: a caller
// reads container headers and keys and takes the elements it wants to keep as
// raw bytes (which alias the input). Each header read counts one level of
// nesting against MaxDepth. A Reader is not safe for concurrent use.
type Reader struct {
	s scanner
}

// NewReader returns a Reader over data (nil options mean the defaults).
func NewReader(data []byte, opts *DecodeOptions) *Reader {
	return &Reader{s: newScanner(data, opts)}
}

// Reset makes r read data from the start with the same limits.
func (r *Reader) Reset(data []byte) {
	r.s.b, r.s.off, r.s.depth = data, 0, 0
}

// Offset is the number of bytes read so far.
func (r *Reader) Offset() int { return r.s.off }

// Remaining is the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.s.b) - r.s.off }

// PeekKind returns the kind of the next value without consuming it.
func (r *Reader) PeekKind() Kind { return PeekKind(r.s.b[r.s.off:]) }

// ReadMapHeader reads the header of a map and returns its pair count. The
// count is at most Remaining()/2, so it is safe to size by.
func (r *Reader) ReadMapHeader() (int, error) {
	return r.header(KindMap)
}

// ReadArrayHeader reads the header of an array and returns its element count,
// at most Remaining().
func (r *Reader) ReadArrayHeader() (int, error) {
	return r.header(KindArray)
}

func (r *Reader) header(k Kind) (int, error) {
	off := r.s.off
	t, err := r.s.next()
	if err != nil {
		return 0, err
	}
	if t.kind != k {
		r.s.off = off
		return 0, &UnmarshalTypeError{Value: "expected " + k.String() + ", found " + t.kind.String(), Offset: off}
	}
	if err := r.s.enter(); err != nil {
		return 0, err
	}
	return t.n, nil
}

// Leave ends the container whose header was read last: its nesting level no
// longer counts against MaxDepth. Call it after reading all of its elements.
func (r *Reader) Leave() {
	if r.s.depth > 0 {
		r.s.depth--
	}
}

// ReadKey reads a map key and returns the property name JavaScript would use:
// strings and binary as they are, numbers, booleans, nil and undefined as
// JavaScript prints them. Other kinds are a *SyntaxError.
func (r *Reader) ReadKey() (string, error) {
	return r.s.key()
}

// ReadKeyBytes is ReadKey returning bytes: for str and bin keys (the usual
// case) they alias the input and nothing is allocated.
func (r *Reader) ReadKeyBytes() ([]byte, error) {
	off := r.s.off
	t, err := r.s.next()
	if err != nil {
		return nil, err
	}
	if t.kind == KindString || t.kind == KindBinary {
		return t.data, nil
	}
	k, err := r.s.keyString(&t, off)
	return []byte(k), err
}

// ReadRaw validates the next complete value and returns its bytes, which alias
// the input.
func (r *Reader) ReadRaw() ([]byte, error) {
	start := r.s.off
	if err := r.s.skip(); err != nil {
		return nil, err
	}
	return r.s.b[start:r.s.off:r.s.off], nil
}

// Skip validates and skips the next complete value.
func (r *Reader) Skip() error { return r.s.skip() }
