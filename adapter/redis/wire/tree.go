package wire

import (
	"fmt"

	"github.com/corvid-io/corvid/internal/msgpack"
)

// Tree builders: Go values in Node's key order.

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilAnys(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func (p *Packet) tree(withNsp bool) obj {
	o := obj{{"type", p.Type}, {"data", nonNilAnys(p.Data)}}
	if withNsp && p.Nsp != "" {
		o = append(o, kv{"nsp", p.Nsp})
	}
	return o
}

func (f *Flags) tree() obj {
	o := obj{}
	if f == nil {
		return o
	}
	if f.Volatile {
		o = append(o, kv{"volatile", true})
	}
	if f.Compress != nil {
		o = append(o, kv{"compress", *f.Compress})
	}
	if f.Local {
		o = append(o, kv{"local", true})
	}
	if f.Timeout != 0 {
		o = append(o, kv{"timeout", f.Timeout})
	}
	if f.ExpectSingleResponse {
		o = append(o, kv{"expectSingleResponse", true})
	}
	return o
}

// tree writes {rooms, except[, flags]}; flags are written when withFlags.
func (o *Opts) tree(withFlags bool) obj {
	t := obj{{"rooms", nonNilStrings(o.Rooms)}, {"except", nonNilStrings(o.Except)}}
	if withFlags {
		t = append(t, kv{"flags", o.Flags.tree()})
	}
	return t
}

func (s *SocketInfo) tree() obj {
	data := s.Data
	if data == nil {
		data = obj{} // Node's socket.data defaults to {}
	}
	hs := s.Handshake
	if hs == nil {
		hs = obj{}
	}
	return obj{{"id", s.ID}, {"handshake", hs}, {"rooms", nonNilStrings(s.Rooms)}, {"data", data}}
}

func socketsTree(ss []SocketInfo) []any {
	out := make([]any, len(ss))
	for i := range ss {
		out[i] = ss[i].tree()
	}
	return out
}

// hasBinary reports whether v holds a []byte at any depth, or a msgpack
// extension value (received from a msgpack peer), which JSON cannot carry
// either: such messages go out in msgpack.
func hasBinary(v any) bool {
	switch x := v.(type) {
	case []byte, msgpack.Ext:
		return true
	case obj:
		for _, e := range x {
			if hasBinary(e.Value) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasBinary(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasBinary(e) {
				return true
			}
		}
	case *Packet:
		return hasBinary(x.Data)
	}
	return false
}

// Tree readers: decoded values to typed fields.

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

func asMap(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	return m, ok
}

// strList reads a list of rooms (strings, or numbers Node stringifies). A missing
// or null value is an empty list.
func strList(v any, what string) ([]string, error) {
	if v == nil {
		return []string{}, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, malformed("%s is a %T, not a list", what, v)
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := jsString(e)
		if !ok {
			return nil, malformed("%s holds a %T", what, e)
		}
		out = append(out, s)
	}
	return out, nil
}

func optString(m map[string]any, k string) (string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", nil
	}
	if s, ok := jsString(v); ok {
		return s, nil
	}
	return "", malformed("%s is a %T", k, v)
}

func readFlags(v any) (*Flags, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := asMap(v)
	if !ok {
		return nil, malformed("flags is a %T", v)
	}
	f := &Flags{}
	if b, ok := m["volatile"].(bool); ok {
		f.Volatile = b
	}
	if b, ok := m["compress"].(bool); ok {
		f.Compress = &b
	}
	if b, ok := m["local"].(bool); ok {
		f.Local = b
	}
	if n, ok := jsInt(m["timeout"]); ok {
		f.Timeout = n
	}
	if b, ok := m["expectSingleResponse"].(bool); ok {
		f.ExpectSingleResponse = b
	}
	return f, nil
}

func readOpts(v any) (*Opts, error) {
	m, ok := asMap(v)
	if !ok {
		return nil, malformed("opts is a %T", v)
	}
	o := &Opts{}
	var err error
	if o.Rooms, err = strList(m["rooms"], "opts.rooms"); err != nil {
		return nil, err
	}
	if o.Except, err = strList(m["except"], "opts.except"); err != nil {
		return nil, err
	}
	if o.Flags, err = readFlags(m["flags"]); err != nil {
		return nil, err
	}
	return o, nil
}

// readPacket reads {type, data, nsp}; data must be a list.
func readPacket(v any) (*Packet, error) {
	m, ok := asMap(v)
	if !ok {
		return nil, malformed("packet is a %T", v)
	}
	p := &Packet{Type: 2}
	if t, ok := jsInt(m["type"]); ok {
		p.Type = int(t)
	}
	d, ok := m["data"].([]any)
	if !ok {
		return nil, malformed("packet.data is a %T", m["data"])
	}
	p.Data = d
	if nv, has := m["nsp"]; has {
		n, ok := nv.(string)
		if !ok {
			// Node compares it with its namespace name and drops the packet.
			return nil, malformed("packet.nsp is a %T", nv)
		}
		if n == "" {
			// No namespace is named "": Node drops such a packet, and an
			// empty nsp would not survive our encoding (it omits it).
			return nil, malformed("packet.nsp is empty")
		}
		p.Nsp = n
	}
	return p, nil
}

func readSockets(v any) ([]SocketInfo, bool, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, false, nil
	}
	out := make([]SocketInfo, 0, len(l))
	for _, e := range l {
		if id, ok := e.(string); ok {
			out = append(out, SocketInfo{ID: id})
			continue
		}
		m, ok := asMap(e)
		if !ok {
			return nil, true, malformed("socket is a %T", e)
		}
		s := SocketInfo{Handshake: m["handshake"], Data: m["data"]}
		id, ok := m["id"].(string)
		if !ok {
			return nil, true, malformed("socket id is a %T", m["id"])
		}
		s.ID = id
		var err error
		if s.Rooms, err = strList(m["rooms"], "socket.rooms"); err != nil {
			return nil, true, err
		}
		out = append(out, s)
	}
	return out, true, nil
}
