package ws

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// closingHandler ends the connection when reading ends, as a session does.
type closingHandler struct {
	c      Conn
	closed chan error
}

func (h *closingHandler) Message(bool, []byte) bool { return true }
func (h *closingHandler) Closed(err error) {
	h.c.CloseNow()
	h.closed <- err
}

// TestDrainAfterFail: a connection failed for a protocol error writes its
// close frame and shuts down its side; the goroutine that then drains the
// peer owns the socket. The end of the session meanwhile (CloseNow) leaves
// the socket open, since closing it with unread bytes resets the connection
// and may destroy the close frame before the peer reads it; Options.Stop
// (the server shutting down) ends the drain at once, before CloseTimeout.
func TestDrainAfterFail(t *testing.T) {
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	var running atomic.Int32
	opts := &Options{Limit: 1 << 10, Stop: stop, Spawn: func(fn func()) bool {
		running.Add(1)
		go func() {
			defer running.Add(-1)
			fn()
		}()
		return true
	}}
	h := &closingHandler{closed: make(chan error, 1)}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			t.Error(err)
			return
		}
		h.c = c
		c.Start(h)
	}))
	defer hs.Close()
	client, err := net.Dial("tcp", strings.TrimPrefix(hs.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	client.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(client, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(client)
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	// A text frame with RSV2 set, then bytes the server will never parse.
	bad := ClientFrame(0x80|0x20|opText, []byte("hello"), true)
	more := ClientFrame(0x80|opText, make([]byte, 300), true)
	if _, err := client.Write(append(bad, more...)); err != nil {
		t.Fatal(err)
	}
	if err := <-h.closed; !errors.Is(err, ErrFailed) {
		t.Fatalf("Closed(%v), want ErrFailed", err)
	}
	got, err := io.ReadAll(br) // the close frame, then our side's end
	if err != nil {
		t.Fatalf("reading the close frame: %v", err)
	}
	if want := []byte{0x80 | opClose, 2, 0x03, 0xEA}; string(got) != string(want) {
		t.Fatalf("read % x, want % x (1002)", got, want)
	}
	waitRunning := func(n int32, d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); running.Load() != n; time.Sleep(time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%d goroutines running, want %d", running.Load(), n)
			}
		}
	}
	waitRunning(1, 2*time.Second) // the drain, and only it
	// The session has ended (CloseNow); the drain still reads what we send.
	if _, err := client.Write(more); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if running.Load() != 1 {
		t.Fatal("the drain ended while the peer was still connected")
	}
	cancel()
	waitRunning(0, CloseTimeout/2)
}
