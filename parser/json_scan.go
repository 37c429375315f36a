package parser

import (
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects in a received payload (the
// same bound as encoding/json).
const maxDepth = 10000

// scanner validates JSON text (the grammar JSON.parse accepts) and checks the
// binary placeholders {"_placeholder":true,"num":N} it meets: with nAtt
// declared attachments every num must be an integer below nAtt, used once; a
// packet without attachments may hold none. An object that has a
// "_placeholder": true member but is not exactly such a placeholder is refused
// too, so that nothing downstream mistakes it for one.
type scanner struct {
	data  []byte
	depth int
	ws    bool // whitespace was skipped: the text is not compact

	// lenient skips the placeholder checks, for text validated before.
	lenient bool

	nAtt  int    // attachments the packet declares (0: placeholders are refused)
	seen  []bool // placeholder numbers met, len nAtt
	count int    // placeholders met
}

func (s *scanner) reset(data []byte, nAtt int) {
	s.data = data
	s.depth = 0
	s.ws = false
	s.nAtt = nAtt
	s.count = 0
	if cap(s.seen) < nAtt {
		s.seen = make([]bool, nAtt)
	}
	s.seen = s.seen[:nAtt]
	clear(s.seen)
}

func syntaxError(detail string) error { return newError(ErrSyntax, detail) }

func (s *scanner) skipWS(i int) int {
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			s.ws = true
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the value starting at data[i] (no leading whitespace) and
// returns the index just past it.
func (s *scanner) value(i int) (int, error) {
	if i >= len(s.data) {
		return i, syntaxError("unexpected end of payload")
	}
	switch c := s.data[i]; c {
	case '"':
		end, _, err := s.str(i)
		return end, err
	case '{':
		return s.object(i)
	case '[':
		return s.array(i)
	case 't':
		return s.literal(i, "true")
	case 'f':
		return s.literal(i, "false")
	case 'n':
		return s.literal(i, "null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.number(i)
		}
		return i, syntaxError("unexpected character " + strconv.QuoteRune(rune(c)))
	}
}

func (s *scanner) literal(i int, lit string) (int, error) {
	if len(s.data)-i < len(lit) || string(s.data[i:i+len(lit)]) != lit {
		return i, syntaxError("invalid literal")
	}
	return i + len(lit), nil
}

// str checks the string starting at the quote data[i]; it reports whether the
// string holds escapes.
func (s *scanner) str(i int) (end int, escaped bool, err error) {
	d := s.data
	for j := i + 1; j < len(d); {
		for j+8 <= len(d) && plainStringWord(load64b(d, j)) {
			j += 8
		}
		if j >= len(d) {
			break
		}
		c := d[j]
		switch {
		case c == '"':
			return j + 1, escaped, nil
		case c == '\\':
			escaped = true
			if j+1 >= len(d) {
				return j, escaped, syntaxError("unterminated string")
			}
			switch d[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(d) || !isHex(d[j+2]) || !isHex(d[j+3]) || !isHex(d[j+4]) || !isHex(d[j+5]) {
					return j, escaped, syntaxError("invalid \\u escape")
				}
				j += 6
			default:
				return j, escaped, syntaxError("invalid escape")
			}
		case c < 0x20:
			return j, escaped, syntaxError("control character in string")
		default:
			j++
		}
	}
	return len(d), escaped, syntaxError("unterminated string")
}

// load64b reads the eight bytes of b at i as a little-endian word.
func load64b(b []byte, i int) uint64 {
	b = b[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// plainStringWord reports whether none of the eight bytes of w ends a string
// or needs a check: no '"', no '\\', no control character (UTF-8 is fine).
func plainStringWord(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ '"'*lo
	bs := w ^ '\\'*lo
	return ((w-0x20*lo)&^w|(q-lo)&^q|(bs-lo)&^bs)&hi == 0
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) number(i int) (int, error) {
	d := s.data
	j := i
	if d[j] == '-' {
		j++
	}
	switch {
	case j < len(d) && d[j] == '0':
		j++
	case j < len(d) && d[j] >= '1' && d[j] <= '9':
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	default:
		return j, syntaxError("invalid number")
	}
	if j < len(d) && d[j] == '.' {
		j++
		if j >= len(d) || !isDigit(d[j]) {
			return j, syntaxError("invalid number")
		}
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if j >= len(d) || !isDigit(d[j]) {
			return j, syntaxError("invalid number")
		}
		for j < len(d) && isDigit(d[j]) {
			j++
		}
	}
	return j, nil
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return syntaxError("nested too deeply")
	}
	return nil
}

func (s *scanner) array(i int) (int, error) {
	if err := s.enter(); err != nil {
		return i, err
	}
	j := s.skipWS(i + 1)
	if j < len(s.data) && s.data[j] == ']' {
		s.depth--
		return j + 1, nil
	}
	for {
		var err error
		if j, err = s.value(j); err != nil {
			return j, err
		}
		j = s.skipWS(j)
		if j >= len(s.data) {
			return j, syntaxError("unterminated array")
		}
		switch s.data[j] {
		case ',':
			j = s.skipWS(j + 1)
		case ']':
			s.depth--
			return j + 1, nil
		default:
			return j, syntaxError("expected ',' or ']' in array")
		}
	}
}

func (s *scanner) object(i int) (int, error) {
	if err := s.enter(); err != nil {
		return i, err
	}
	d := s.data
	j := s.skipWS(i + 1)
	if j < len(d) && d[j] == '}' {
		s.depth--
		return j + 1, nil
	}
	var phKeys, phTrue, numKeys, others int
	num := -1
	for {
		if j >= len(d) || d[j] != '"' {
			return j, syntaxError("expected a string key in object")
		}
		kEnd, esc, err := s.str(j)
		if err != nil {
			return kEnd, err
		}
		key := d[j+1 : kEnd-1]
		isPH, isNum := keyIs(key, esc, "_placeholder"), keyIs(key, esc, "num")
		j = s.skipWS(kEnd)
		if j >= len(d) || d[j] != ':' {
			return j, syntaxError("expected ':' after object key")
		}
		j = s.skipWS(j + 1)
		vStart := j
		if j, err = s.value(j); err != nil {
			return j, err
		}
		switch v := d[vStart:j]; {
		case isPH:
			phKeys++
			if string(v) == "true" {
				phTrue++
			}
		case isNum:
			numKeys++
			num = smallUint(v)
		default:
			others++
		}
		j = s.skipWS(j)
		if j >= len(d) {
			return j, syntaxError("unterminated object")
		}
		switch d[j] {
		case ',':
			j = s.skipWS(j + 1)
			continue
		case '}':
		default:
			return j, syntaxError("expected ',' or '}' in object")
		}
		break
	}
	s.depth--
	if phTrue > 0 && !s.lenient {
		if err := s.placeholder(phKeys == 1 && numKeys == 1 && others == 0, num); err != nil {
			return j, err
		}
	}
	return j + 1, nil
}

// placeholder records a placeholder object; wellFormed says whether it has
// exactly the members _placeholder and num.
func (s *scanner) placeholder(wellFormed bool, num int) error {
	switch {
	case s.nAtt == 0:
		return newError(ErrPlaceholder, "placeholder in a packet without attachments")
	case !wellFormed:
		return newError(ErrPlaceholder, "placeholder must have exactly the members _placeholder and num")
	case num < 0:
		return newError(ErrPlaceholder, "placeholder num is not a non-negative integer")
	case num >= s.nAtt:
		return newError(ErrPlaceholder, "placeholder num "+strconv.Itoa(num)+" out of range")
	case s.seen[num]:
		return newError(ErrPlaceholder, "placeholder num "+strconv.Itoa(num)+" used twice")
	}
	s.seen[num] = true
	s.count++
	return nil
}

// smallUint returns the value of a plain digit token ("0", "12"; no sign,
// fraction, exponent or leading zero) below one billion, or -1.
func smallUint(v []byte) int {
	if len(v) == 0 || len(v) > 9 || len(v) > 1 && v[0] == '0' {
		return -1
	}
	n := 0
	for _, c := range v {
		if !isDigit(c) {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// keyIs reports whether the raw string content key (between the quotes) is want
// once unescaped.
func keyIs(key []byte, escaped bool, want string) bool {
	if !escaped {
		return string(key) == want
	}
	if len(key) > 6*len(want) {
		return false
	}
	var buf [72]byte
	return string(appendUnescaped(buf[:0], key)) == want
}

// appendUnescaped appends the string whose raw content (between the quotes,
// already validated) is raw. Like encoding/json, it turns invalid UTF-8 and
// unpaired surrogate escapes into U+FFFD.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			switch raw[i+1] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(raw[i+2:])
				i += 6
				if r >= 0xd800 && r < 0xdc00 && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if lo := hex4(raw[i+2:]); lo >= 0xdc00 && lo < 0xe000 {
						dst = utf8.AppendRune(dst, 0x10000+(r-0xd800)<<10+(lo-0xdc00))
						i += 6
						continue
					}
				}
				if r >= 0xd800 && r < 0xe000 {
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, raw[i+1])
			}
			i += 2
			continue
		}
		if c < utf8.RuneSelf {
			j := i + 1
			for j < len(raw) && raw[j] < utf8.RuneSelf && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, raw[i:i+size]...)
		}
		i += size
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// appendCompact appends the valid JSON text raw without the whitespace between
// tokens.
func appendCompact(dst, raw []byte) []byte {
	start := 0
	inStr := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, raw[start:i]...)
			start = i + 1
		}
	}
	return append(dst, raw[start:]...)
}

// placeholderAt reports whether a placeholder object starts at raw[i] (a '{' of
// text validated by the scanner) and returns its num and the index past it.
func placeholderAt(raw []byte, i int) (num, end int, ok bool) {
	var s scanner
	s.data = raw
	j := s.skipWS(i + 1)
	var phTrue bool
	num = -1
	for n := 0; n < 2; n++ {
		if j >= len(raw) || raw[j] != '"' {
			return 0, 0, false
		}
		kEnd, esc, err := s.str(j)
		if err != nil {
			return 0, 0, false
		}
		key := raw[j+1 : kEnd-1]
		j = s.skipWS(kEnd)
		if j >= len(raw) || raw[j] != ':' {
			return 0, 0, false
		}
		j = s.skipWS(j + 1)
		vStart := j
		switch {
		case keyIs(key, esc, "_placeholder"):
			if j, err = s.literal(j, "true"); err != nil {
				return 0, 0, false
			}
			phTrue = true
		case keyIs(key, esc, "num"):
			if j, err = s.number(j); err != nil {
				return 0, 0, false
			}
			num = smallUint(raw[vStart:j])
		default:
			return 0, 0, false
		}
		j = s.skipWS(j)
		if j >= len(raw) {
			return 0, 0, false
		}
		if n == 0 && raw[j] == ',' {
			j = s.skipWS(j + 1)
		}
	}
	if !phTrue || num < 0 || j >= len(raw) || raw[j] != '}' {
		return 0, 0, false
	}
	return num, j + 1, true
}

// rewritePlaceholders appends raw (validated JSON) to dst with every
// placeholder object replaced by what fn appends for its num.
func rewritePlaceholders(dst, raw []byte, fn func(dst []byte, num int) []byte) []byte {
	start := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			for i++; raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
		case '{':
			if num, end, ok := placeholderAt(raw, i); ok {
				dst = append(dst, raw[start:i]...)
				dst = fn(dst, num)
				start = end
				i = end - 1
			}
		}
	}
	return append(dst, raw[start:]...)
}
