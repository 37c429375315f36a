// Package valuegen generates Go values of the shapes applications give to
// Emit, Send and Broadcast, from a seed: structs with []byte fields and json
// tags (omitempty, omitzero, "-", renamed), embedded structs (by value and
// through a pointer, nil or not), typed slices and maps, named byte slices,
// [N]byte arrays, pointers (nil or not), json.Marshaler types, float32 and
// the other integer kinds, received parser.Values, and the plain trees
// (map[string]any, []any) around them, with binary at any depth.
//
// Tests use it to check that every path a value can take reaches clients as
// the local path delivers it. The same seed gives the same values.
package valuegen

import (
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"strconv"

	"github.com/corvid-io/corvid/parser"
)

// Bytes is a named byte slice: binary, like []byte.
type Bytes []byte

// Node is a struct that holds binary and further values at any depth.
type Node struct {
	Name   string           `json:"name"`
	Data   []byte           `json:"data,omitempty"`
	Raw    Bytes            `json:"raw,omitzero"`
	Hidden []byte           `json:"-"`
	Kids   []Node           `json:"kids,omitempty"`
	Ptr    *Node            `json:"ptr,omitempty"`
	Files  map[string]Bytes `json:"files,omitempty"`
	Any    any              `json:"any"`
	Count  int32
	Ratio  float32 `json:"ratio,omitempty"`
	Digest [4]byte `json:"digest"`
	hidden []byte
}

// Meta is embedded by Envelope through a pointer.
type Meta struct {
	ID    uint16 `json:"id"`
	Thumb []byte `json:"thumb"`
}

// Envelope embeds Node (its fields are promoted) and *Meta (nil or not).
type Envelope struct {
	Node
	*Meta
	Name  string  `json:"envelopeName"` // does not collide: Node's is "name"
	Extra []Bytes `json:"extra"`
}

// Files is a typed slice of structs.
type Files []File

// File is a small struct with binary content.
type File struct {
	Path    string `json:"path"`
	Content []byte `json:"content"`
	Mode    uint8  `json:"mode,string"`
}

// Index is a typed map with integer keys.
type Index map[int]*File

// Opaque writes itself with encoding/json, so its []byte is base64 text: the
// output of a MarshalJSON is used as it is and carries no binary.
type Opaque struct{ B []byte }

// MarshalJSON writes {"opaque": <base64 of B>}.
func (o Opaque) MarshalJSON() ([]byte, error) {
	return []byte(`{"opaque":"` + base64.StdEncoding.EncodeToString(o.B) + `"}`), nil
}

// Gen generates values; it is not safe for concurrent use.
type Gen struct {
	r *rand.Rand
	// MaxDepth bounds the nesting (default 4).
	MaxDepth int
	// MaxBytes bounds the length of one binary value (default 48).
	MaxBytes int
}

// New returns a generator of the values of seed.
func New(seed uint64) *Gen {
	return &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), MaxDepth: 4, MaxBytes: 48}
}

// Value returns the next value.
func (g *Gen) Value() any { return g.value(0) }

func (g *Gen) bytes() []byte {
	b := make([]byte, g.r.IntN(g.MaxBytes+1))
	for i := range b {
		b[i] = byte(g.r.Uint32())
	}
	return b
}

var words = []string{"", "a", "file.bin", "héllo", "日本", "quote\"back\\slash", "line\nfeed", "10", "num", "9"}

func (g *Gen) str() string { return words[g.r.IntN(len(words))] }

func (g *Gen) scalar() any {
	switch g.r.IntN(12) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		return g.r.IntN(2000) - 1000
	case 3:
		return float64(g.r.IntN(1000)) / 8
	case 4:
		return float32(g.r.IntN(1000)) / 10
	case 5:
		return int64(g.r.Uint64() >> 12) // below 2^53: exact in JavaScript too
	case 6:
		return uint8(g.r.Uint32())
	case 7:
		return int16(g.r.IntN(60000) - 30000)
	case 8:
		return json.Number(strconv.Itoa(g.r.IntN(100)))
	default:
		return g.str()
	}
}

func (g *Gen) value(depth int) any {
	if depth >= g.MaxDepth {
		if g.r.IntN(3) == 0 {
			return g.bytes()
		}
		return g.scalar()
	}
	switch g.r.IntN(18) {
	case 0, 1:
		return g.scalar()
	case 2, 3:
		return g.bytes()
	case 4:
		return Bytes(g.bytes())
	case 5:
		n := g.r.IntN(4)
		out := make([]any, n)
		for i := range out {
			out[i] = g.value(depth + 1)
		}
		return out
	case 6:
		m := map[string]any{}
		for range g.r.IntN(4) {
			m[g.str()] = g.value(depth + 1)
		}
		return m
	case 7:
		n := g.node(depth + 1)
		return n
	case 8:
		return ptr(g.node(depth + 1))
	case 9:
		return g.envelope(depth + 1)
	case 10:
		fs := make(Files, g.r.IntN(3))
		for i := range fs {
			fs[i] = g.file()
		}
		return fs
	case 11:
		ix := Index{}
		for range g.r.IntN(3) {
			if g.r.IntN(4) == 0 {
				ix[g.r.IntN(20)] = nil
			} else {
				ix[g.r.IntN(20)] = ptr(g.file())
			}
		}
		return ix
	case 12:
		m := map[string][]byte{}
		for range g.r.IntN(3) {
			m[g.str()] = g.bytes()
		}
		return m
	case 13:
		return [][]byte{g.bytes(), nil, g.bytes()}
	case 14:
		return Opaque{B: g.bytes()}
	case 15:
		return g.received(depth + 1)
	case 16:
		switch g.r.IntN(4) {
		case 0:
			return (*Node)(nil)
		case 1:
			return []byte(nil)
		case 2:
			return map[string]any(nil)
		}
		return []any(nil)
	default:
		return [3]byte{byte(g.r.Uint32()), 0, 255}
	}
}

func ptr[T any](v T) *T { return &v }

func (g *Gen) file() File {
	return File{Path: g.str(), Content: g.bytes(), Mode: uint8(g.r.IntN(8))}
}

func (g *Gen) node(depth int) Node {
	n := Node{Name: g.str(), Count: int32(g.r.IntN(100)), Hidden: g.bytes(), hidden: g.bytes()}
	if g.r.IntN(2) == 0 {
		n.Data = g.bytes()
	}
	if g.r.IntN(2) == 0 {
		n.Raw = Bytes(g.bytes())
	}
	if g.r.IntN(3) == 0 {
		n.Ratio = float32(g.r.IntN(100)) / 3
	}
	n.Digest[0], n.Digest[3] = byte(g.r.Uint32()), byte(g.r.Uint32())
	if depth < g.MaxDepth {
		if g.r.IntN(3) == 0 {
			n.Kids = make([]Node, 1+g.r.IntN(2))
			for i := range n.Kids {
				n.Kids[i] = g.node(depth + 1)
			}
		}
		if g.r.IntN(3) == 0 {
			n.Ptr = ptr(g.node(depth + 1))
		}
		if g.r.IntN(3) == 0 {
			n.Files = map[string]Bytes{g.str(): g.bytes(), "nil": nil}
		}
		n.Any = g.value(depth + 1)
	}
	return n
}

func (g *Gen) envelope(depth int) Envelope {
	e := Envelope{Node: g.node(depth), Name: g.str()}
	if g.r.IntN(2) == 0 {
		e.Meta = &Meta{ID: uint16(g.r.Uint32()), Thumb: g.bytes()}
	}
	for range g.r.IntN(3) {
		e.Extra = append(e.Extra, g.bytes())
	}
	return e
}

// received returns a value as a handler receives it: a parser.Value decoded
// from a packet, binary attachments included.
func (g *Gen) received(depth int) any {
	v := g.value(depth)
	msgs, err := parser.JSON.Encode(&parser.Packet{Type: parser.Event, Event: "x", Args: []any{v}})
	if err != nil {
		panic("valuegen: " + err.Error())
	}
	d := parser.NewJSON(&parser.JSONOptions{MaxAttachments: 1 << 20}).NewDecoder()
	var p *parser.Packet
	for _, m := range msgs {
		if p, err = d.Add(m); err != nil {
			panic("valuegen: " + err.Error())
		}
	}
	return p.Args[0]
}
