package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/corvid-io/corvid/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// TestRoundRobin: connections alternate between the backends; after Close no
// goroutine is left.
func TestRoundRobin(t *testing.T) {
	var srvs []*httptest.Server
	for _, name := range []string{"a", "b"} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, name) }))
		defer s.Close()
		srvs = append(srvs, s)
	}
	p, err := New(srvs[0].Listener.Addr().String(), srvs[1].Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	var got string
	for range 4 {
		res, err := hc.Get("http://" + p.Addr() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got += string(b)
	}
	if got != "abab" {
		t.Fatalf("backends in turn: %q", got)
	}
	p.SetBackends(srvs[1].Listener.Addr().String())
	res, err := hc.Get("http://" + p.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "b" {
		t.Fatalf("after SetBackends: %q", b)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
