package socketio

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
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
	msg := engineio.Message{Data: []byte(`21["echo","` + strings.Repeat("x", 100) + `"]`)}
	want := `31["` + strings.Repeat("x", 100) + `"]`
	f := c.sess
	stall := time.NewTimer(time.Hour)
	defer stall.Stop()
	b.ReportAllocs()
	cpu0 := testutil.ProcessCPU()
	defer func() { b.ReportMetric(float64(testutil.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	for b.Loop() {
		f.in <- msg
		stall.Reset(5 * time.Second)
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
			case <-stall.C:
				b.Fatalf("no ack:\n%s", strings.Join(testutil.Goroutines(), "\n\n"))
			}
		}
	}
}

// BenchmarkEchoWebSocket is the harness's echo scenario over loopback: 100
// WebSocket clients (b.SetParallelism), each in a closed loop emitting "echo"
// with a 100-byte string and reading the acknowledgement, against a server
// with the harness's handler. ns/op is per acknowledgement.
func BenchmarkEchoWebSocket(b *testing.B) {
	srv := newTestServer(b, &ServerOptions{Engine: &engineio.ServerOptions{
		PingInterval: time.Hour, PingTimeout: time.Hour,
	}})
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack AckFunc) {
			if ack != nil {
				_ = ack(args...)
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	host := strings.TrimPrefix(hs.URL, "http://")
	payload := strings.Repeat("x", 100)
	const parallelism = 50
	b.SetParallelism(parallelism)
	// The clients connect here, on the benchmark's goroutine, where a failure
	// may stop the benchmark (the parallel goroutines may only report it).
	conns := make(chan net.Conn, parallelism*runtime.GOMAXPROCS(0))
	for range cap(conns) {
		c := rawSocketIO(b, host)
		defer c.Close()
		conns <- c
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := testutil.ProcessCPU()
	defer func() {
		// CPU time of the process (server and clients) per acknowledgement:
		// unlike ns/op, it does not depend on what else runs on the machine.
		b.ReportMetric(float64(testutil.ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		c := <-conns
		br := bufio.NewReaderSize(c, 4096)
		// Masked with the all-zero key, so the payload is sent as is.
		var frame []byte
		var want []byte
		for id := 0; pb.Next(); id++ {
			body := "42" + strconv.Itoa(id%100000) + `["echo","` + payload + `"]`
			frame = append(frame[:0], 0x81, 0x80|byte(len(body)), 0, 0, 0, 0)
			frame = append(frame, body...)
			if _, err := c.Write(frame); err != nil {
				b.Error(err)
				return
			}
			want = append(append(append(want[:0], "43"...), strconv.Itoa(id%100000)...), `["`+payload+`"]`...)
			var hdr [2]byte
			if _, err := br.Read(hdr[:1]); err != nil {
				b.Error(err)
				return
			}
			if _, err := br.Read(hdr[1:]); err != nil {
				b.Error(err)
				return
			}
			got := make([]byte, hdr[1]&0x7f)
			if _, err := io.ReadFull(br, got); err != nil {
				b.Error(err)
				return
			}
			if !bytes.Equal(got, want) {
				b.Errorf("got %q, want %q", got, want)
				return
			}
		}
	})
}
