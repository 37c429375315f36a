package socketio

import (
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

// BenchmarkEventAck measures one acknowledged event through a connection:
// the reader decodes it, the dispatcher runs the handler, the handler's ack
// is encoded and queued on the session (the harness's echo scenario without
// the network).
func BenchmarkEventAck(b *testing.B) {
	srv := newTestServer(b, nil)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack AckFunc) { _ = ack(args...) })
	})
	c := dial(b, srv)
	c.send("0")
	c.expectPrefix("0{")
	msg := `21["echo","` + strings.Repeat("x", 100) + `"]`
	want := `31["` + strings.Repeat("x", 100) + `"]`
	f := c.sess
	b.ReportAllocs()
	for b.Loop() {
		c.send(msg)
		for {
			f.mu.Lock()
			if len(f.out) > 0 {
				m := f.out[0]
				f.out = f.out[1:]
				f.mu.Unlock()
				if string(m.Data) != want {
					b.Fatalf("got %q, want %q", m.Data, want)
				}
				break
			}
			f.mu.Unlock()
			select {
			case <-f.notify:
			case <-time.After(5 * time.Second):
				b.Fatalf("no ack:\n%s", strings.Join(testutil.Goroutines(), "\n\n"))
			}
		}
	}
}
