package conformance

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
)

// TestEIONodeClient runs npm engine.io-client 6.6 (conformance/node/eio_client.js)
// against our server: polling only, websocket only and upgrade, text and binary
// both ways, a server-initiated close, and a client that stops answering pings.
func TestEIONodeClient(t *testing.T) {
	causes := make(chan error, 8)
	handler := func(s *engineio.Session) {
		defer func() { causes <- context.Cause(s.Context()) }()
		s.Send(engineio.Message{Data: []byte("welcome")}, engineio.Message{Binary: true, Data: []byte{0xca, 0xfe}})
		for {
			m, err := s.Read(s.Context())
			if err != nil {
				return
			}
			if !m.Binary && bytes.Equal(m.Data, []byte("close-me")) {
				s.Close()
				<-s.Context().Done()
				return
			}
			if s.Send(m) != nil {
				return
			}
		}
	}
	d := startEIO(t, handler, suiteOptions())
	url := d.base[:len(d.base)-len("/engine.io/")]

	for _, mode := range []string{"polling", "websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			p := testutil.StartNode(t, "conformance/node/eio_client.js", url, mode)
			open := map[string]string{"polling": "open polling", "websocket": "open websocket", "upgrade": "open polling"}[mode]
			p.WaitLine(t, open, 10*time.Second)
			if mode == "upgrade" {
				p.WaitLine(t, "upgrade websocket", 10*time.Second)
			}
			p.WaitLine(t, "text welcome", 10*time.Second)
			p.WaitLine(t, "binary cafe", 10*time.Second)
			p.WaitLine(t, "text hello", 10*time.Second)
			p.WaitLine(t, "binary 010203", 10*time.Second)
			p.WaitLine(t, "text len=300000", 10*time.Second)
			p.WaitLine(t, "close transport close", 10*time.Second)
			if cause := waitCause(t, causes); !errors.Is(cause, engineio.ReasonForcedClose) {
				t.Errorf("server-side cause %v", cause)
			}
		})
	}
	t.Run("ping timeout", func(t *testing.T) {
		p := testutil.StartNode(t, "conformance/node/eio_client.js", url, "nopong")
		p.WaitLine(t, "open websocket", 10*time.Second)
		p.WaitLine(t, "close transport close", 10*time.Second)
		if cause := waitCause(t, causes); !errors.Is(cause, engineio.ReasonPingTimeout) {
			t.Errorf("server-side cause %v", cause)
		}
	})
}

func waitCause(t *testing.T, causes chan error) error {
	t.Helper()
	select {
	case err := <-causes:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end")
		return nil
	}
}
