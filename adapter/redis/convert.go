package redis

import (
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// jsDateLayout is the form of JavaScript's Date.prototype.toString in UTC, which
// socket.io puts in handshake.time.
const jsDateLayout = "Mon Jan 02 2006 15:04:05 GMT+0000 (Coordinated Universal Time)"

// materialize converts a value to publish to the tree a client of this
// server would receive (parser.Tree): map[string]any, []any, string, numbers,
// bool, nil and []byte. Every encoding of the adapters (msgpack, JSON, the
// binary detection that picks between them) then sees what the JSON parser
// sees, binary inside structs, typed slices and maps included, and a remote
// client receives what a local one does. A value that cannot be encoded
// becomes one whose encoding fails with the same error, so that publishing
// it fails instead of sending something else.
func materialize(v any) any {
	t, err := parser.Tree(v)
	if err != nil {
		return unencodable{err}
	}
	return t
}

// unencodable stands for a value that cannot be encoded: encoding it, in
// msgpack or in JSON, fails with err.
type unencodable struct{ err error }

func (u unencodable) AppendMsgpack(dst []byte) ([]byte, error) { return dst, u.err }
func (u unencodable) MarshalJSON() ([]byte, error)             { return nil, u.err }

// toWirePacket builds {type: 2, data: [event, ...args], nsp}, each argument
// materialized. mat is no longer used: classic broadcasts, which did not
// materialize, wrote Go values by msgpack's rules (base64 inside a
// MarshalJSON aside, time.Time, omitzero and embedded pointers differ from
// the JSON parser's).
func toWirePacket(p *parser.Packet, nsp string, mat bool) *wire.Packet {
	data := make([]any, 0, 1+len(p.Args))
	data = append(data, p.Event)
	for _, a := range p.Args {
		data = append(data, materialize(a))
	}
	return &wire.Packet{Type: int(parser.Event), Data: data, Nsp: nsp}
}

// fromWirePacket builds the EVENT packet to deliver locally; ok is false when
// the data does not start with an event name.
func fromWirePacket(w *wire.Packet, nsp string) (*parser.Packet, bool) {
	if len(w.Data) == 0 {
		return nil, false
	}
	ev, ok := w.Data[0].(string)
	if !ok {
		return nil, false
	}
	return &parser.Packet{Type: parser.Event, Namespace: nsp, Event: ev, Args: w.Data[1:]}, true
}

func toWireFlags(f *adapter.Flags) *wire.Flags {
	wf := &wire.Flags{Volatile: f.Volatile, Local: f.Local, ExpectSingleResponse: f.ExpectSingleResponse,
		Timeout: f.Timeout.Milliseconds()}
	if f.NoCompress {
		no := false
		wf.Compress = &no
	}
	return wf
}

func toWireOpts(o *adapter.BroadcastOptions) *wire.Opts {
	if o == nil {
		return &wire.Opts{Flags: &wire.Flags{}}
	}
	return &wire.Opts{Rooms: o.Rooms, Except: o.Except, Flags: toWireFlags(&o.Flags)}
}

func fromWireOpts(o *wire.Opts) *adapter.BroadcastOptions {
	out := &adapter.BroadcastOptions{}
	if o == nil {
		return out
	}
	out.Rooms, out.Except = o.Rooms, o.Except
	if f := o.Flags; f != nil {
		out.Flags = adapter.Flags{Volatile: f.Volatile, NoCompress: f.Compress != nil && !*f.Compress,
			ExpectSingleResponse: f.ExpectSingleResponse, Timeout: time.Duration(f.Timeout) * time.Millisecond}
	}
	return out
}

// handshakeTree writes h as socket.io's handshake object (without
// sessionStore): {headers, time, address, xdomain, secure, issued, url, query, auth}.
func handshakeTree(h *adapter.Handshake) any {
	if h == nil {
		return wire.Object{}
	}
	headers := wire.Object{}
	keys := make([]string, 0, len(h.Headers))
	for k := range h.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vs := h.Headers[k]
		lk := strings.ToLower(k)
		if lk == "set-cookie" {
			headers = append(headers, wire.Field{Key: lk, Value: append([]string{}, vs...)})
			continue
		}
		headers = append(headers, wire.Field{Key: lk, Value: strings.Join(vs, ", ")})
	}
	query := wire.Object{}
	qkeys := make([]string, 0, len(h.Query))
	for k := range h.Query {
		qkeys = append(qkeys, k)
	}
	sort.Strings(qkeys)
	for _, k := range qkeys {
		vs := h.Query[k]
		if len(vs) == 1 {
			query = append(query, wire.Field{Key: k, Value: vs[0]})
		} else {
			query = append(query, wire.Field{Key: k, Value: append([]string{}, vs...)})
		}
	}
	auth := materialize(h.Auth)
	if auth == nil {
		auth = wire.Object{}
	}
	return wire.Object{
		{Key: "headers", Value: headers},
		{Key: "time", Value: h.Time.UTC().Format(jsDateLayout)},
		{Key: "address", Value: h.Address},
		{Key: "xdomain", Value: h.XDomain},
		{Key: "secure", Value: h.Secure},
		{Key: "issued", Value: h.Time.UnixMilli()},
		{Key: "url", Value: h.URL},
		{Key: "query", Value: query},
		{Key: "auth", Value: auth},
	}
}

// fromHandshakeTree reads a decoded handshake object.
func fromHandshakeTree(v any) *adapter.Handshake {
	h := &adapter.Handshake{Headers: http.Header{}, Query: url.Values{}}
	m, ok := v.(map[string]any)
	if !ok {
		return h
	}
	if hs, ok := m["headers"].(map[string]any); ok {
		for k, val := range hs {
			ck := textproto.CanonicalMIMEHeaderKey(k)
			switch x := val.(type) {
			case string:
				h.Headers[ck] = []string{x}
			case []any:
				for _, e := range x {
					if s, ok := e.(string); ok {
						h.Headers[ck] = append(h.Headers[ck], s)
					}
				}
			}
		}
	}
	if q, ok := m["query"].(map[string]any); ok {
		for k, val := range q {
			switch x := val.(type) {
			case string:
				h.Query[k] = []string{x}
			case []any:
				for _, e := range x {
					if s, ok := e.(string); ok {
						h.Query[k] = append(h.Query[k], s)
					}
				}
			}
		}
	}
	if ms, ok := m["issued"].(float64); ok {
		h.Time = time.UnixMilli(int64(ms))
	} else if s, ok := m["time"].(string); ok {
		if t, err := time.Parse(jsDateLayout, s); err == nil {
			h.Time = t
		}
	}
	h.Address, _ = m["address"].(string)
	h.XDomain, _ = m["xdomain"].(bool)
	h.Secure, _ = m["secure"].(bool)
	h.URL, _ = m["url"].(string)
	h.Auth = m["auth"]
	return h
}

func toWireSockets(in []adapter.SocketInfo) []wire.SocketInfo {
	out := make([]wire.SocketInfo, len(in))
	for i, s := range in {
		out[i] = wire.SocketInfo{ID: s.ID, Handshake: handshakeTree(s.Handshake), Rooms: s.Rooms, Data: materialize(s.Data)}
	}
	return out
}

func fromWireSockets(in []wire.SocketInfo) []adapter.SocketInfo {
	out := make([]adapter.SocketInfo, len(in))
	for i, s := range in {
		out[i] = adapter.SocketInfo{ID: s.ID, Handshake: fromHandshakeTree(s.Handshake), Rooms: s.Rooms, Data: s.Data}
	}
	return out
}
