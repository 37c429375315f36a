package engineio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/corvid-io/corvid/engineio"
)

// An echo server, driven here by hand over HTTP long-polling.
func ExampleNewServer() {
	srv := engineio.NewServer(func(s *engineio.Session) {
		for {
			m, err := s.Read(s.Context())
			if err != nil {
				return
			}
			s.Send(m)
		}
	}, nil)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewServer(mux)
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
	fmt.Println(do("POST", "&sid="+sid, "4hello\x1ebAQID"))
	fmt.Printf("%q\n", do("GET", "&sid="+sid, ""))
	// Output:
	// ok
	// "4hello\x1ebAQID"
}

func ExampleAppendPayload() {
	buf := make([]byte, 0, 64)
	buf = engineio.AppendPayload(buf, []engineio.Packet{
		{Type: engineio.PacketMessage, Data: []byte("hello")},
		{Type: engineio.PacketMessage, Binary: true, Data: []byte{1, 2, 3, 4}},
		{Type: engineio.PacketPing},
	})
	fmt.Printf("%q\n", buf)
	// Output: "4hello\x1ebAQIDBA==\x1e2"
}

func ExampleParsePayload() {
	err := engineio.ParsePayload([]byte("4hello\x1ebAQIDBA==\x1e3"), 1e6, func(p engineio.Packet) error {
		fmt.Println(p.Type, p.Binary, p.Data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// message false [104 101 108 108 111]
	// message true [1 2 3 4]
	// pong false []
	// <nil>
}

// The close reason of a session is the cause of its context.
func ExampleSession_Context() {
	done := make(chan error, 1)
	srv := engineio.NewServer(func(s *engineio.Session) {
		s.Close()
		<-s.Context().Done()
		done <- context.Cause(s.Context())
	}, nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	res, err := http.Get(hs.URL + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Println(<-done)
	// Output: forced close
}
