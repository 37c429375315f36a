package socketio

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

// connectMany connects n in-process clients to "/" and returns them with their
// sockets. The sessions discard what they are sent.
func connectMany(t testing.TB, srv *Server, n int) ([]*client, []*Socket) {
	t.Helper()
	sockets := make(chan *Socket, n)
	srv.OnConnection(func(s *Socket) { sockets <- s })
	cs := make([]*client, n)
	ss := make([]*Socket, n)
	for i := range cs {
		c := dial(t, srv)
		c.send("0")
		cs[i] = c
	}
	for i := range ss {
		ss[i] = <-sockets
	}
	for _, c := range cs {
		c.next() // the CONNECT reply
		c.sess.mu.Lock()
		c.sess.discard = true
		c.sess.mu.Unlock()
	}
	return cs, ss
}

// TestConcurrentOperations runs 100 goroutines that emit, join, leave and
// broadcast over 1,000 sockets at once (run with -race).
func TestConcurrentOperations(t *testing.T) {
	srv := newTestServer(t, nil)
	_, ss := connectMany(t, srv, 1000)
	nsp := srv.Of("/")
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			room := "room-" + strconv.Itoa(g%10)
			for i := range 20 {
				s := ss[(g*37+i*11)%len(ss)]
				switch i % 5 {
				case 0:
					_ = s.Join(room, "all")
				case 1:
					_ = s.Emit("hello", g, i)
				case 2:
					_ = nsp.To(room).Except("x").Emit("room", []byte{byte(i)})
				case 3:
					_ = s.Leave(room)
				case 4:
					_ = s.Broadcast().Volatile().Emit("bc", map[string]any{"g": g})
					_ = s.Rooms()
				}
			}
		}()
	}
	wg.Wait()
	rs, err := nsp.FetchSockets(context.Background())
	if err != nil || len(rs) != 1000 {
		t.Fatalf("FetchSockets: %d sockets, %v", len(rs), err)
	}
	var sent int64
	for _, s := range ss {
		sent += s.conn.sess.(*fakeSession).sent.Load()
	}
	if sent == 0 {
		t.Fatal("nothing was sent")
	}
}

// TestGoroutinesReturnToBaseline connects and disconnects 1,000 clients and
// checks that every goroutine they started has ended.
func TestGoroutinesReturnToBaseline(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.OnConnection(func(s *Socket) {
		s.On("x", func(*Socket, Args, AckFunc) {})
	})
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				sess := newFakeSession()
				done := make(chan struct{})
				go func() { srv.serveSession(sess); close(done) }()
				sess.in <- msg("0")
				sess.in <- msg(`2["x"]`)
				sess.in <- msg("1")
				sess.Close()
				<-done
			}
		}()
	}
	wg.Wait()
	testutil.CheckNoNewGoroutines(t, base, 10*time.Second)
	if n := len(srv.Of("/").Sockets()); n != 0 {
		t.Fatalf("%d sockets left", n)
	}
}
