package redis

import (
	"testing"

	"github.com/corvid-io/corvid/adapter/redis/wire"
)

// FuzzStreamEntry: any entry fields decode without panicking, and an entry
// that decodes re-encodes to one that decodes to the same type.
func FuzzStreamEntry(f *testing.F) {
	f.Add("3", `{"packet":{"type":2,"data":["r","v"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}}`)
	f.Add("4", `{"opts":{"rooms":[],"except":[]},"rooms":["a"]}`)
	f.Add("6", `{"opts":{"rooms":["x"],"except":[]},"close":true}`)
	f.Add("3", "gqZwYWNrZXSCpHR5cGUCpGRhdGGSoWXEAwECAw==")
	f.Add("9", "")
	f.Fuzz(func(t *testing.T, typ, data string) {
		m, err := wire.DecodeStreamEntry(wire.StreamEntry{UID: "u", Nsp: "/", Type: typ, Data: data, HasData: data != ""})
		if err != nil {
			return
		}
		e, err := wire.AppendStreamEntry(m, false)
		if err != nil {
			return // e.g. a type this side never writes
		}
		m2, err := wire.DecodeStreamEntry(e)
		if err != nil {
			t.Fatalf("re-encoded entry %+v does not decode: %v", e, err)
		}
		if m2.Type != m.Type {
			t.Fatalf("type %d became %d", m.Type, m2.Type)
		}
	})
}

// FuzzSession: any stored session value decodes without panicking.
func FuzzSession(f *testing.F) {
	v, _ := wire.AppendSession(&wire.Session{SID: "s", PID: "p", Rooms: []string{"s", "r"}, Data: map[string]any{"user": "bob"}})
	f.Add(v)
	f.Add("")
	f.Add("not base64")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := wire.DecodeSession(v)
		if err != nil {
			return
		}
		again, err := wire.AppendSession(s)
		if err != nil {
			return
		}
		if _, err := wire.DecodeSession(again); err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
	})
}
