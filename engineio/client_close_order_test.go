package engineio

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestClientPollingCloseAlone: over polling, Close writes what is queued, then
// the close packet in a request of its own, as the reference client does (a
// server may handle a close packet before the messages of its own payload:
// the npm one does, and a Socket.IO DISCONNECT sent with it was reported as
// "transport close"). Here a message is queued while a POST is in flight,
// then Close is called.
func TestClientPollingCloseAlone(t *testing.T) {
	var (
		mu        sync.Mutex
		posts     []string
		closed    = make(chan struct{})
		closeOnce sync.Once
		firstPost = make(chan struct{})
		release   = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Query().Get("sid") == "":
			io.WriteString(w, `0{"sid":"s1","upgrades":[],"pingInterval":10000,"pingTimeout":10000,"maxPayload":1000000}`)
		case r.Method == http.MethodGet:
			select {
			case <-closed:
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			io.WriteString(w, "6")
		default:
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			posts = append(posts, string(body))
			n := len(posts)
			mu.Unlock()
			if n == 1 {
				close(firstPost)
				<-release
			}
			if b := string(body); b == "1" || strings.HasSuffix(b, "\x1e1") { // ends with a close packet
				closeOnce.Do(func() { close(closed) })
			}
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	c := clientDial(t, srv.URL, &DialOptions{Transports: []string{TransportPolling}})
	if err := c.Send(Message{Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-firstPost:
	case <-time.After(5 * time.Second):
		t.Fatal("no POST")
	}
	if err := c.Send(Message{Data: []byte("b")}); err != nil { // waits for the POST in flight
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		c.Close()
		close(done)
	}()
	time.Sleep(20 * time.Millisecond) // Close reaches the loop while the POST is in flight
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"4a", "4b", "1"}; !slices.Equal(posts, want) {
		t.Fatalf("POST bodies %q, want %q", posts, want)
	}
}
