package engineio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/corvid-io/corvid/engineio"
)

// An echo server in push mode: the handler registers its callbacks and
// returns; no goroutine waits for the session's messages.
func ExampleSession_Receive() {
	closed := make(chan error, 1)
	srv := engineio.NewServer(func(s *engineio.Session) {
		s.Receive(func(m engineio.Message) {
			s.Send(m)
		}, func(err error) {
			closed <- err
		})
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	do := func(method, query, body string) string {
		req, _ := http.NewRequest(method, hs.URL+"/engine.io/?EIO=4&transport=polling"+query, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open := do("GET", "", "")
	sid := open[len(`0{"sid":"`):][:20]
	fmt.Println(do("POST", "&sid="+sid, "4one\x1e4two"))
	fmt.Printf("%q\n", do("GET", "&sid="+sid, ""))
	fmt.Println(do("POST", "&sid="+sid, "1")) // the client closes
	err := <-closed
	fmt.Println(errors.Is(err, engineio.ReasonTransportClose))
	// Output:
	// ok
	// "4one\x1e4two"
	// ok
	// true
}
