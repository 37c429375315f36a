package engineio

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketFrameSizes echoes messages around every payload-length boundary
// of the framing, one at a time (single writes) and in a burst (corked
// batches), while the client sends WebSocket pings that coder/websocket answers
// on the same connection: every message and every pong must arrive whole.
func TestWebSocketFrameSizes(t *testing.T) {
	d := stStart(t, stEcho, stOptions())
	c := d.dialOpen()
	c.SetReadLimit(1 << 20)
	sizes := []int{0, 1, 124, 125, 126, 127, 4095, 4096, 4097, 65534, 65535, 65536, 70000}
	type msg struct {
		typ  websocket.MessageType
		data []byte
	}
	var msgs []msg
	for i, n := range sizes {
		msgs = append(msgs, msg{websocket.MessageText, []byte("4" + strings.Repeat(string(rune('a'+i)), n))})
		msgs = append(msgs, msg{websocket.MessageBinary, bytes.Repeat([]byte{byte(i)}, n)})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pings := make(chan error, 1)
	pingCtx, stopPings := context.WithCancel(ctx)
	go func() {
		n := 0
		for pingCtx.Err() == nil {
			if err := c.Ping(pingCtx); err != nil {
				if pingCtx.Err() != nil && n > 0 {
					err = nil
				}
				pings <- err
				return
			}
			n++
		}
		pings <- nil
	}()

	check := func(i int, m msg) {
		t.Helper()
		typ, got := stRead(t, c)
		if typ != m.typ || got != string(m.data) {
			t.Fatalf("message %d: %v, %d bytes, want %v, %d bytes", i, typ, len(got), m.typ, len(m.data))
		}
	}
	for i, m := range msgs {
		if err := c.Write(ctx, m.typ, m.data); err != nil {
			t.Fatal(err)
		}
		check(i, m)
	}
	sent := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := c.Write(ctx, m.typ, m.data); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for i, m := range msgs {
		check(i, m)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	stopPings()
	if err := <-pings; err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// BenchmarkWebSocketEchoBinary64K measures the round trip of a 64 KiB binary
// message (client write, server read and Send, client read).
func BenchmarkWebSocketEchoBinary64K(b *testing.B) {
	d := stStart(b, stEcho, &ServerOptions{PingInterval: time.Minute})
	c := d.dialOpen()
	c.SetReadLimit(1 << 20)
	msg := bytes.Repeat([]byte{7}, 64<<10)
	ctx := context.Background()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
