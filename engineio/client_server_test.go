package engineio

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

// The client against this package's Server.

// newEchoServer serves an Engine.IO server whose sessions echo every message and
// close themselves on "close-me". Closed sessions report their reason on reasons.
func newEchoServer(t testing.TB, opts *ServerOptions) (string, <-chan Reason) {
	reasons := make(chan Reason, 16)
	srv := NewServer(func(s *Session) {
		for {
			m, err := s.Read(context.Background())
			if err != nil {
				break
			}
			if !m.Binary && string(m.Data) == "close-me" {
				return
			}
			if s.Send(m) != nil {
				break
			}
		}
		<-s.Context().Done()
		if r, ok := context.Cause(s.Context()).(Reason); ok {
			select {
			case reasons <- r:
			default:
			}
		}
	}, opts)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return hs.URL, reasons
}

func TestClientWithServer(t *testing.T) {
	cases := []struct {
		name string
		opts DialOptions
		want string
	}{
		{"polling", DialOptions{Transports: []string{"polling"}}, "polling"},
		{"websocket", DialOptions{Transports: []string{"websocket"}}, "websocket"},
		{"upgrade", DialOptions{}, "websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, reasons := newEchoServer(t, &ServerOptions{PingInterval: 50 * time.Millisecond, PingTimeout: 5 * time.Second})
			c := clientDial(t, u, &tc.opts)
			clientEcho(t, c, 50)
			clientWaitTransport(t, c, tc.want)
			time.Sleep(200 * time.Millisecond) // a few heartbeats
			clientEcho(t, c, 10)
			c.Close()
			if r := <-reasons; r != ReasonTransportClose {
				t.Fatalf("server-side reason %q, want transport close", r)
			}
		})
	}
}

func TestClientWithServerClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			u, _ := newEchoServer(t, nil)
			c := clientDial(t, u, &DialOptions{Transports: []string{tr}})
			if err := c.Send(Message{Data: []byte("close-me")}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(clientTestCtx(t)); !errors.Is(err, ReasonTransportClose) {
				t.Fatalf("Read: %v, want transport close", err)
			}
		})
	}
}

func BenchmarkClientRoundTripServer(b *testing.B) {
	u, _ := newEchoServer(b, nil)
	c, err := Dial(context.Background(), u, &DialOptions{Transports: []string{"websocket"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	msg := Message{Data: []byte(`["event",{"hello":"world"}]`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkClientRoundTripServerPolling(b *testing.B) {
	u, _ := newEchoServer(b, nil)
	c, err := Dial(context.Background(), u, &DialOptions{Transports: []string{"polling"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	msg := Message{Data: []byte(`["event",{"hello":"world"}]`)}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
