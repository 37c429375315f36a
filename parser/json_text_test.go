package parser

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// quoteReference is JSON.stringify's string quoting for valid UTF-8, one rune
// at a time.
func quoteReference(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[r>>4])
				b.WriteByte(hexDigits[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestAppendQuotedRandom(t *testing.T) {
	alphabet := []string{"a", "Z", "0", " ", "~", "\x7f", "\"", "\\", "\n", "\x00", "\x1f", "é", "€", "😀", "\u2028", "<", "&"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		got, want := string(appendQuoted(nil, s)), quoteReference(s)
		if got != want {
			t.Fatalf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil || back != s {
			t.Fatalf("%s does not read back as %q: %q %v", got, s, back, err)
		}
	}
}

func TestAppendFloatMatchesJavaScriptRules(t *testing.T) {
	cases := map[float64]string{
		0: "0", 1: "1", -1: "-1", 0.5: "0.5", 100: "100", 1e20: "100000000000000000000", 1e21: "1e+21",
		1.5e300: "1.5e+300", 1e-6: "0.000001", 1.2e-6: "0.0000012", 1e-7: "1e-7", 2.5e-10: "2.5e-10",
		math.MaxFloat64: "1.7976931348623157e+308", math.SmallestNonzeroFloat64: "5e-324", -1e-7: "-1e-7",
		123456789: "123456789", 0.1: "0.1", 1.0 / 3: "0.3333333333333333",
	}
	for f, want := range cases {
		if got := string(appendFloat(nil, f, 64)); got != want {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	// Every result parses back to the same float64.
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		f := math.Float64frombits(rng.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		s := string(appendFloat(nil, f, 64))
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || back != f && !(f == 0 && back == 0) {
			t.Fatalf("%v -> %s -> %v %v", f, s, back, err)
		}
	}
}

func TestCompareKeys(t *testing.T) {
	keys := []string{"b", "10", "2", "a", "01", "", "4294967294", "4294967295", "-1", "1a"}
	want := []string{"2", "10", "4294967294", "", "-1", "01", "1a", "4294967295", "a", "b"}
	sortKeys(keys)
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", keys, want)
	}
}

func sortKeys(k []string) {
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && compareKeys(k[j-1], k[j]) > 0; j-- {
			k[j-1], k[j] = k[j], k[j-1]
		}
	}
}

func TestScanStringRandom(t *testing.T) {
	alphabet := []string{"a", " ", "\x7f", "\"", "\\\\", "\\n", "\\u00e9", "\x01", "é", "😀", "\xff"}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range rng.IntN(30) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		b.WriteByte('"')
		in := b.String()
		s := scanner{data: []byte(in)}
		end, _, err := s.str(0)
		// Reference: the first unescaped quote after the opening one, unless a
		// control character or a lone backslash comes first.
		wantEnd, wantErr := -1, false
		for i := 1; i < len(in); i++ {
			c := in[i]
			if c < 0x20 {
				wantErr = true
				break
			}
			if c == '\\' {
				i++
				continue
			}
			if c == '"' {
				wantEnd = i + 1
				break
			}
		}
		if wantEnd < 0 {
			wantErr = true
		}
		if (err != nil) != wantErr || err == nil && end != wantEnd {
			t.Fatalf("str(%q) = %d, %v; want end %d, error %v", in, end, err, wantEnd, wantErr)
		}
	}
}
