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

// A receiver that takes messages two at a time pauses the session after each
// pair and resumes it when it wants more: meanwhile the session delivers
// nothing (a WebSocket is not read; a polling POST waits once a buffer's
// worth is held back).
func ExampleSession_Pause() {
	sessions := make(chan *engineio.Session, 1)
	got := make(chan string, 16)
	srv := engineio.NewServer(func(s *engineio.Session) {
		sessions <- s
		n := 0
		s.Receive(func(m engineio.Message) {
			got <- string(m.Data)
			if n++; n%2 == 0 {
				s.Pause()
			}
		}, func(error) {})
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	res, err := http.Get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		fmt.Println(err)
		return
	}
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	s := <-sessions
	res, err = http.Post(hs.URL+"/engine.io/?EIO=4&transport=polling&sid="+s.ID(), "text/plain;charset=UTF-8",
		strings.NewReader("4a\x1e4b\x1e4c"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(strings.HasPrefix(string(open), "0{"), res.StatusCode)
	fmt.Println(<-got, <-got)
	select {
	case m := <-got:
		fmt.Println("delivered while paused:", m)
	default:
		fmt.Println("c is held back")
	}
	s.Resume()
	fmt.Println(<-got)
	// Output:
	// true 200
	// a b
	// c is held back
	// c
}
