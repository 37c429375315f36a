package parser

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the scalar formatting of JSON.stringify: strings and numbers.

const hexDigits = "0123456789abcdef"

// plainASCII marks the bytes JSON.stringify copies as they are (printable ASCII
// other than '"' and '\\'). Unlike encoding/json it does not escape <, > and &.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendQuoted appends s as a JSON string the way JSON.stringify writes it:
// control characters as \b \f \n \r \t or \u00xx, '"' and '\\' escaped, every
// other character verbatim (U+2028 and U+2029 included). Go strings are bytes,
// so two cases have no exact JavaScript counterpart: a surrogate code point
// encoded in three bytes (as WTF-8 does) is written as a \udxxx escape, the way
// JSON.stringify writes a lone surrogate (or joined with the next one into the
// character they form), and any other invalid UTF-8 byte becomes U+FFFD, as a
// JavaScript text decoder would have made it.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain bytes at a time.
		for i+8 <= len(s) && plainWord(load64(s, i)) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || size != 1 {
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		if hi, ok := surrogateAt(s, i); ok {
			if lo, ok := surrogateAt(s, i+3); ok && hi < 0xdc00 && lo >= 0xdc00 {
				dst = utf8.AppendRune(dst, 0x10000+(hi-0xd800)<<10+(lo-0xdc00))
				i += 6
			} else {
				dst = append(dst, '\\', 'u', 'd', hexDigits[hi>>8&0xf], hexDigits[hi>>4&0xf], hexDigits[hi&0xf])
				i += 3
			}
		} else {
			dst = append(dst, "\uFFFD"...)
			i++
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// load64 reads the eight bytes of s at i as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// plainWord reports whether the eight bytes of w are all printable ASCII other
// than '"' and '\\' (no byte below 0x20 or above 0x7f).
func plainWord(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	ctl := (w - 0x20*lo) &^ w // high bit set where a byte < 0x20
	q := w ^ '"'*lo           // zero byte where '"'
	bs := w ^ '\\'*lo         // zero byte where '\\'
	quote := (q - lo) &^ q    // high bit set where q has a zero byte
	slash := (bs - lo) &^ bs
	return (ctl|quote|slash|w)&hi == 0
}

// surrogateAt decodes a surrogate code point (U+D800-U+DFFF) written as three
// bytes at s[i:], which is not valid UTF-8 but is how WTF-8 and CESU-8 store one.
func surrogateAt(s string, i int) (rune, bool) {
	if i+2 >= len(s) || s[i] != 0xed || s[i+1] < 0xa0 || s[i+1] > 0xbf || s[i+2] < 0x80 || s[i+2] > 0xbf {
		return 0, false
	}
	return 0xd000 | rune(s[i+1]&0x3f)<<6 | rune(s[i+2]&0x3f), true
}

// appendFloat appends f as JSON.stringify writes a number: the shortest digits
// that round-trip, plain notation from 1e-6 up to 1e21 and exponent notation
// ("1e+21", "1.5e-7") outside, "0" for negative zero, and null for NaN and
// infinities. bits is 64, or 32 for a float32 (its own shortest digits).
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// strconv writes at least two exponent digits ("1e-07"); JavaScript one.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
