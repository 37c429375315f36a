package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/corvid-io/corvid/internal/proxy"
)

// Two backends behind the proxy: requests on new connections reach them in turn.
func Example() {
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "a") }))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "b") }))
	defer b.Close()
	p, err := proxy.New(a.Listener.Addr().String(), b.Listener.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 3 {
		res, err := hc.Get("http://" + p.Addr() + "/")
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Print(string(body))
	}
	fmt.Println()
	// Output: aba
}
