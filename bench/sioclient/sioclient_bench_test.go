package sioclient

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// startCorvid serves socketio.Server with an "ack" event answering its
// arguments.
func startCorvid(b *testing.B) string {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("ack", func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				ack(args...)
			}
		})
	})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return hs.URL
}

// startNode runs the npm socket.io 4.8 server of the conformance tests (its
// "ack" event answers its arguments).
func startNode(b *testing.B) string {
	port := testutil.FreePort(b)
	p := testutil.StartNode(b, "conformance/node/sioclient_server.js", strconv.Itoa(port), "json")
	p.WaitLine(b, "listening", 20*time.Second)
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// BenchmarkEmitWithAck measures sequential emit-with-ack round trips (one
// small string argument) over websocket and over polling; rt/s is round trips
// per second.
func BenchmarkEmitWithAck(b *testing.B) {
	servers := []struct {
		name  string
		start func(*testing.B) string
	}{{"corvid", startCorvid}, {"node", startNode}}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			url := srv.start(b)
			for _, tr := range []string{"websocket", "polling"} {
				b.Run(tr, func(b *testing.B) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					opts := &socketio.ClientOptions{}
					opts.Transports = []string{tr}
					s, err := socketio.Connect(ctx, url, opts)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Manager().Close()
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						res, err := s.EmitWithAck(ctx, "ack", "ping")
						if err != nil {
							b.Fatal(err)
						}
						if res.Len() != 1 {
							b.Fatalf("ack with %d arguments", res.Len())
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rt/s")
				})
			}
		})
	}
}

// BenchmarkEmitWithAckParallel runs the round trips from several goroutines
// over one websocket connection.
func BenchmarkEmitWithAckParallel(b *testing.B) {
	servers := []struct {
		name  string
		start func(*testing.B) string
	}{{"corvid", startCorvid}, {"node", startNode}}
	for _, srv := range servers {
		b.Run(srv.name, func(b *testing.B) {
			url := srv.start(b)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			opts := &socketio.ClientOptions{}
			opts.Transports = []string{"websocket"}
			s, err := socketio.Connect(ctx, url, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Manager().Close()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.EmitWithAck(ctx, "ack", "ping"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rt/s")
		})
	}
}
