package conformance

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// TestSIOGoroutineBaseline connects 1,000 WebSocket clients to the main
// namespace (20 at a time), has each send an event and get the answer, closes
// them, and checks that the server's goroutines return to the baseline.
func TestSIOGoroutineBaseline(t *testing.T) {
	// the suite's handlers, with heartbeat and connect timeouts that a loaded
	// machine cannot miss (this test is about goroutines, not timing)
	srv := sioSuiteServer(&socketio.ServerOptions{
		ConnectTimeout: 30 * time.Second,
		Engine:         &engineio.ServerOptions{PingInterval: 10 * time.Second, PingTimeout: 10 * time.Second},
	})
	d := startSIO(t, srv)
	// one client first, so that lazily started runtime/net goroutines exist
	warm := d.sioWS()
	warm.CloseNow()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	const clients, parallel = 1000, 20
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := sioRoundTrip(d); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for i := range clients {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d clients failed, first: %s", len(failures), clients, failures[0])
	}
	testutil.CheckNoNewGoroutines(t, base, 15*time.Second)
}

type sioError string

func (e sioError) Error() string { return string(e) }

// sioRoundTrip opens a WebSocket session, joins "/", checks the echo of one
// event, and closes the WebSocket.
func sioRoundTrip(d *sioDriver) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+d.base[len("http"):]+"?EIO=4&transport=websocket", nil)
	if err != nil {
		return err
	}
	defer c.CloseNow()
	read := func() (string, error) {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return "", err
			}
			if string(b) != "2" {
				return string(b), nil
			}
			// answer pings: under load a round trip may outlast pingInterval+pingTimeout
			if err := c.Write(ctx, websocket.MessageText, []byte("3")); err != nil {
				return "", err
			}
		}
	}
	if _, err := read(); err != nil { // open
		return err
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("40")); err != nil {
		return err
	}
	if m, err := read(); err != nil || !sioConnectReply.MatchString(m) {
		return sioError("connect: " + m + " " + errString(err))
	}
	if m, err := read(); err != nil || m != `42["auth",{}]` {
		return sioError("auth: " + m + " " + errString(err))
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`42["message",1]`)); err != nil {
		return err
	}
	if m, err := read(); err != nil || m != `42["message-back",1]` {
		return sioError("echo: " + m + " " + errString(err))
	}
	return c.Close(websocket.StatusNormalClosure, "")
}
