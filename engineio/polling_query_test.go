package engineio

import (
	"strings"
	"testing"
)

// TestScanQueryMatchesParseQuery checks that the routing scan reads the same
// EIO, transport and sid as parseQuery (url.Values) for queries built from
// pieces that exercise duplicates, empty pairs, missing '=', semicolons and
// escapes.
func TestScanQueryMatchesParseQuery(t *testing.T) {
	pieces := []string{
		"EIO=4", "EIO=3", "EIO", "EIO=", "transport=polling", "transport=websocket",
		"transport", "sid=abc", "sid=", "sid", "sid=a=b", "sid=x;y", "a=1;b=2",
		"", "=", "=x", "t=N1", "sid=%41b", "%73id=zz", "sid=a+b", "sid=%zz",
		"transport=poll%69ng", "EIO=4;", "x=%", "j=1", "b64=1",
	}
	check := func(raw string) {
		t.Helper()
		got := scanQuery(raw)
		v := parseQuery(raw)
		want := routeQuery{eio: v.Get("EIO"), transport: v.Get("transport"), sid: v.Get("sid")}
		if got != want {
			t.Errorf("scanQuery(%q) = %+v, parseQuery gives %+v", raw, got, want)
		}
	}
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				check(strings.Join([]string{a, b, c}, "&"))
			}
		}
	}
	check("EIO=4&transport=polling&sid=AbC-_09xyzAbC-_09xyz&t=P1x2y3")
}
