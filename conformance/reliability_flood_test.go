package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// relLong reports whether the long versions run (CORVID_LONG=1, see
// scripts/long.sh); the CI versions keep to seconds.
func relLong() bool { return os.Getenv("CORVID_LONG") == "1" }

// relHeap returns the live heap after a collection.
func relHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// TestReliabilityHandshakeFlood: a flood of polling handshakes against
// MaxSessions: the server never holds more sessions than the limit, refuses
// the rest with 403 {"code":4,"message":"Too many sessions"}, and a
// HandshakeRate turns a burst away without affecting open sessions.
func TestReliabilityHandshakeFlood(t *testing.T) {
	const max = 200
	attempts, workers := 2000, 16
	if relLong() {
		attempts, workers = 50000, 64
	}
	base := len(testutil.Goroutines())
	heap0 := relHeap()
	d := startEIO(t, eioEchoHandler, &engineio.ServerOptions{
		PingInterval: time.Minute, PingTimeout: time.Minute, MaxSessions: max,
	})
	var ok, refused, other atomic.Int64
	var peak atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(attempts) {
				res, err := http.Get(d.base + "?EIO=4&transport=polling")
				if err != nil {
					other.Add(1)
					continue
				}
				b := make([]byte, 64)
				n, _ := res.Body.Read(b)
				res.Body.Close()
				switch {
				case res.StatusCode == 200:
					ok.Add(1)
				case res.StatusCode == 403 && string(b[:n]) == `{"code":4,"message":"Too many sessions"}`:
					refused.Add(1)
				default:
					other.Add(1)
				}
				if l := int64(d.srv.Len()); l > peak.Load() {
					peak.Store(l)
				}
			}
		}()
	}
	wg.Wait()
	heap1 := relHeap()
	t.Logf("%d handshakes: %d accepted, %d refused, %d other; peak sessions %d (limit %d); heap %s -> %s; goroutines %d -> %d",
		attempts, ok.Load(), refused.Load(), other.Load(), peak.Load(), max, mib(heap0), mib(heap1), base, len(testutil.Goroutines()))
	if ok.Load() != max || refused.Load() != int64(attempts-max) || other.Load() != 0 {
		t.Fatalf("accepted %d (want %d), refused %d, other %d", ok.Load(), max, refused.Load(), other.Load())
	}
	if d.srv.Len() > max || peak.Load() > max {
		t.Fatalf("sessions %d, peak %d, over the limit %d", d.srv.Len(), peak.Load(), max)
	}
}

// TestReliabilityPollingFlood: many concurrent GETs and POSTs on one polling
// session. The overlapping requests are answered (never left hanging), the
// server keeps serving others, and its goroutines return to the baseline.
func TestReliabilityPollingFlood(t *testing.T) {
	n := 64
	if relLong() {
		n = 1000
	}
	base := runtime.NumGoroutine()
	d := startEIO(t, eioEchoHandler, &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := d.handshake()
	q := d.url("EIO=4&transport=polling&sid=" + sid)
	statuses := make(map[int]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			method, body := http.MethodGet, ""
			if i%2 == 1 {
				method, body = http.MethodPost, "4x"
			}
			req, _ := http.NewRequest(method, q, strings.NewReader(body))
			req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			res, err := client.Do(req)
			code := -1
			if err == nil {
				code = res.StatusCode
				res.Body.Close()
			}
			mu.Lock()
			statuses[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("%d GETs and %d POSTs on one session: statuses %v", n, n, statuses)
	if statuses[-1] != 0 {
		t.Fatalf("%d requests failed or hung", statuses[-1])
	}
	other := d.handshake()
	d.post("EIO=4&transport=polling&sid="+other, "4alive")
	if _, body := d.get("EIO=4&transport=polling&sid=" + other); body != "4alive" {
		t.Fatalf("another session after the flood: %q", body)
	}
	d.post("EIO=4&transport=polling&sid="+other, "1")
	client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	testutil.CheckNoNewGoroutines(t, base+8, 10*time.Second) // + the test server's own
}

// TestReliabilityPacketFlood: one client writes events as fast as it can to a
// handler that does not return. The connection's dispatch queue and the
// transport's backpressure bound what the server holds: its heap stays flat
// while the client is stalled.
func TestReliabilityPacketFlood(t *testing.T) {
	dur := 2 * time.Second
	if relLong() {
		dur = 60 * time.Second
	}
	release := make(chan struct{})
	var got atomic.Int64
	srv := socketio.NewServer(&socketio.ServerOptions{Engine: &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute}})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("flood", func(*socketio.Socket, socketio.Args, socketio.AckFunc) {
			if got.Add(1) == 1 {
				<-release
			}
		})
	})
	d := startSIO(t, srv)
	defer close(release)
	heap0 := relHeap()
	c := d.sioWS()
	wsWrite(t, c, "40")
	sioExpectConnect(t, c, "40")
	msg := []byte(`42["flood","` + strings.Repeat("x", 1024) + `"]`)
	var sent atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if c.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
			sent.Add(1)
		}
	}()
	<-done
	heap1 := relHeap()
	t.Logf("%v of flooding: %d events of 1 KiB written (%s), %d dispatched; heap %s -> %s",
		dur, sent.Load(), mib(uint64(sent.Load())*1024), got.Load(), mib(heap0), mib(heap1))
	if grow := int64(heap1) - int64(heap0); grow > 32<<20 {
		t.Fatalf("the heap grew by %s while the handler was stalled", mib(uint64(grow)))
	}
	if sent.Load() < 1000 {
		t.Fatalf("only %d events written: the test did not flood", sent.Load())
	}
}

// TestReliabilityNamespaceFlood: a client connecting to ever new names of a
// dynamic namespace creates at most MaxDynamicNamespaces children; the rest
// get the reference's "Invalid namespace".
func TestReliabilityNamespaceFlood(t *testing.T) {
	const max = 50
	names := 500
	if relLong() {
		names = 20000
	}
	srv := socketio.NewServer(&socketio.ServerOptions{MaxDynamicNamespaces: max,
		Engine: &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute}})
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	d := startSIO(t, srv)
	c := d.sioWS()
	connected, invalid := 0, 0
	for i := range names {
		nsp := "/dyn-" + strconv.Itoa(i)
		wsWrite(t, c, "40"+nsp+",")
		_, m := sioNext(t, c)
		switch {
		case strings.HasPrefix(m, "40"+nsp+",{\"sid\""):
			connected++
		case m == "44"+nsp+`,{"message":"Invalid namespace"}`:
			invalid++
		default:
			t.Fatalf("CONNECT %s: %q", nsp, m)
		}
	}
	t.Logf("%d names: %d children created, %d refused", names, connected, invalid)
	if connected != max || invalid != names-max || len(parent.Children()) != max {
		t.Fatalf("connected %d, invalid %d, children %d; limit %d", connected, invalid, len(parent.Children()), max)
	}
}

// TestReliabilityRoomFlood: a handler that joins every room a client names
// stops at MaxRoomsPerSocket with ErrTooManyRooms.
func TestReliabilityRoomFlood(t *testing.T) {
	const max = 100
	rooms := 1000
	if relLong() {
		rooms = 100000
	}
	var joined, refused atomic.Int64
	var final atomic.Int64
	srv := socketio.NewServer(&socketio.ServerOptions{MaxRoomsPerSocket: max,
		Engine: &engineio.ServerOptions{PingInterval: time.Minute, PingTimeout: time.Minute}})
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("join", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			var room string
			_ = args.Decode(0, &room)
			switch err := s.Join(room); {
			case err == nil:
				joined.Add(1)
			case errors.Is(err, socketio.ErrTooManyRooms):
				refused.Add(1)
			default:
				t.Errorf("Join: %v", err)
			}
			final.Store(int64(len(s.Rooms())))
			if ack != nil {
				_ = ack()
			}
		})
	})
	d := startSIO(t, srv)
	c := d.sioWS()
	wsWrite(t, c, "40")
	sioExpectConnect(t, c, "40")
	for i := range rooms {
		wsWrite(t, c, fmt.Sprintf(`42%d["join","room-%d"]`, i, i))
	}
	for range rooms {
		sioNext(t, c)
	}
	t.Logf("%d joins: %d joined, %d refused, socket in %d rooms (own room included)", rooms, joined.Load(), refused.Load(), final.Load())
	if joined.Load() != max || refused.Load() != int64(rooms-max) || final.Load() != max+1 {
		t.Fatalf("joined %d, refused %d, rooms %d; limit %d", joined.Load(), refused.Load(), final.Load(), max)
	}
}
