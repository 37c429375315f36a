package engineio

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"github.com/corvid-io/corvid/internal/ws"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/internal/testutil"
)

func benchPackets(kind string) []Packet {
	text := Packet{Type: PacketMessage, Data: []byte(`2["chat",{"user":"ana","text":"hello, world"}]`)}
	bin := Packet{Type: PacketMessage, Binary: true, Data: bytes.Repeat([]byte{0xab, 0x01}, 64)}
	var ps []Packet
	for i := 0; i < 8; i++ {
		switch kind {
		case "text":
			ps = append(ps, text)
		case "binary":
			ps = append(ps, bin)
		default:
			if i%2 == 0 {
				ps = append(ps, text)
			} else {
				ps = append(ps, bin)
			}
		}
	}
	return ps
}

func BenchmarkAppendPayload(b *testing.B) {
	for _, kind := range []string{"text", "binary", "mixed"} {
		b.Run(kind, func(b *testing.B) {
			ps := benchPackets(kind)
			buf := AppendPayload(nil, ps)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendPayload(buf[:0], ps)
			}
		})
	}
}

func BenchmarkParsePayload(b *testing.B) {
	for _, kind := range []string{"text", "binary", "mixed"} {
		b.Run(kind, func(b *testing.B) {
			enc := AppendPayload(nil, benchPackets(kind))
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			n := 0
			fn := func(p Packet) error { n += len(p.Data); return nil }
			for b.Loop() {
				if err := ParsePayload(enc, 0, fn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWebSocketEcho measures one message round trip through the server
// (client write, server Read, Send, writer goroutine, client read) over loopback.
func BenchmarkWebSocketEcho(b *testing.B) { benchWebSocketEcho(b, stEcho) }

// BenchmarkWebSocketEchoPush is BenchmarkWebSocketEcho with a push-mode
// handler (Receive): on linux each message wakes the parked connection
// through the poller.
func BenchmarkWebSocketEchoPush(b *testing.B) {
	benchWebSocketEcho(b, func(s *Session) {
		s.Receive(func(m Message) { s.Send(m) }, func(error) {})
	})
}

func benchWebSocketEcho(b *testing.B, handler func(*Session)) {
	d := stStart(b, handler, &ServerOptions{PingInterval: time.Minute})
	c := d.dialOpen()
	msg := []byte(`42["chat",{"user":"ana","text":"hello, world"}]`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPollingRoundTrip measures a POST of one message and the GET that
// brings its echo back.
func BenchmarkPollingRoundTrip(b *testing.B) {
	d := stStart(b, stEcho, &ServerOptions{PingInterval: time.Minute})
	sid := d.handshake()
	q := d.poll(sid)
	b.ReportAllocs()
	for b.Loop() {
		d.post(q, "4hello")
		if res := d.get(q); res.body != "4hello" {
			b.Fatal(res.body)
		}
	}
}

// TestIdleWebSocketFootprint prints the goroutines and heap bytes per idle
// WebSocket session, for a handler that reads with Read and for one in push
// mode (Receive). It runs only with EIO_IDLE_SESSIONS set to the number of
// sessions (e.g. 1000):
//
//	EIO_IDLE_SESSIONS=1000 go test -run TestIdleWebSocketFootprint -v ./engineio/
//
// The clients are raw TCP connections in this process that did the handshake by
// hand (no goroutine, no buffers), so nearly all the heap counted is the server's.
func TestIdleWebSocketFootprint(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("EIO_IDLE_SESSIONS"))
	if n <= 0 {
		t.Skip("set EIO_IDLE_SESSIONS=<n> to measure")
	}
	t.Run("read", func(t *testing.T) { idleFootprint(t, n, stEcho, 1) })
	t.Run("push", func(t *testing.T) {
		perSession := 1.0
		if ws.Pollers {
			perSession = 0
		}
		idleFootprint(t, n, func(s *Session) {
			s.Receive(func(m Message) { s.Send(m) }, func(error) {})
		}, perSession)
	})
}

func idleFootprint(t *testing.T, n int, handler func(*Session), perSession float64) {
	d := stStart(t, handler, &ServerOptions{PingInterval: time.Hour, PingTimeout: time.Hour})
	u, _ := url.Parse(d.hs.URL)
	// One warm-up session, so that lazily allocated globals are not counted.
	warm := rawWebSocket(t, u.Host)
	defer warm.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawWebSocket(t, u.Host)
	}
	for d.srv.Len() < n+1 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the writers of the open packets exit
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	if path := os.Getenv("EIO_IDLE_HEAPPROFILE"); path != "" {
		// With -memprofilerate=1: what the idle sessions hold.
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	heap := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	stacks := float64(int64(after.StackInuse)-int64(before.StackInuse)) / float64(n)
	fmt.Printf("%s: idle websocket sessions: %d\ngoroutines per session: %.2f\nheap bytes per session: %.0f\nstack bytes per session: %.0f\n",
		t.Name(), n, float64(g1-g0)/float64(n), heap, stacks)
	if float64(g1-g0) > perSession*float64(n)+0.05*float64(n)+5 {
		t.Errorf("%d goroutines for %d idle sessions", g1-g0, n)
	}
	for _, c := range conns {
		c.Close()
	}
}

// rawWebSocket opens a WebSocket-only session by hand and reads the open packet.
func rawWebSocket(t testing.TB, host string) net.Conn {
	c, _ := testutil.RawWebSocket(t, host, "/engine.io/")
	return c
}

// BenchmarkWebSocketBurst measures the server writing bursts of 16 small
// messages queued by one Send (written back to back by the session's writer).
func BenchmarkWebSocketBurst(b *testing.B) {
	sessions, handler := newSTSessions(nil)
	d := stStart(b, handler, &ServerOptions{PingInterval: time.Minute})
	c := d.dialOpen()
	s := sessions.next(b)
	msgs := make([]Message, 16)
	for i := range msgs {
		msgs[i] = Message{Data: []byte(`2["tick",{"n":12345,"ok":true}]`)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Send(msgs...); err != nil {
			b.Fatal(err)
		}
		for range msgs {
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkWebSocketFanout sends one small message to each of 100 idle
// sessions per iteration (a broadcast's deliveries) and reads it on every
// client: with inline writes a delivery starts no writer goroutine.
func BenchmarkWebSocketFanout(b *testing.B) {
	const n = 100
	sessions, handler := newSTSessions(nil)
	d := stStart(b, handler, &ServerOptions{PingInterval: time.Minute})
	u, _ := url.Parse(d.hs.URL)
	clients := make([]*bufio.Reader, n)
	targets := make([]*Session, n)
	for i := range clients {
		c := rawWebSocket(b, u.Host)
		defer c.Close()
		clients[i] = bufio.NewReader(c)
		targets[i] = sessions.next(b)
	}
	msg := Message{Data: []byte(`2["tick",{"n":12345,"ok":true}]`)}
	frame := make([]byte, 2+1+len(msg.Data))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range targets {
			if err := s.Send(msg); err != nil {
				b.Fatal(err)
			}
		}
		for _, br := range clients {
			if _, err := io.ReadFull(br, frame); err != nil {
				b.Fatal(err)
			}
		}
	}
}
