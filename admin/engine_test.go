package admin_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/admin"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// tally is a second engineio.Observer, the test's own count of the traffic.
type tally struct {
	opened, closed, in, inBytes, out, outBytes atomic.Int64
}

func (t *tally) SessionOpened(string)                  { t.opened.Add(1) }
func (t *tally) SessionClosed(string, engineio.Reason) { t.closed.Add(1) }
func (t *tally) Upgraded()                             {}
func (t *tally) Refused(engineio.Refusal)              {}
func (t *tally) MessageIn(_ string, size int)          { t.in.Add(1); t.inBytes.Add(int64(size)) }
func (t *tally) MessagesOut(_ string, n, size int)     { t.out.Add(int64(n)); t.outBytes.Add(int64(size)) }

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestEngineObserverStats: with Options.Engine, server_stats carries the
// Engine.IO traffic as the reference counts it: packetsIn, packetsOut,
// bytesIn, bytesOut, and the connections with their Engine.IO close reason.
func TestEngineObserverStats(t *testing.T) {
	testEngineStats(t, true)
}

// TestEngineObserverUnsetStats: without Options.Engine, no packet counts.
func TestEngineObserverUnsetStats(t *testing.T) {
	testEngineStats(t, false)
}

func testEngineStats(t *testing.T, withObserver bool) {
	obs := admin.NewEngineObserver()
	truth := &tally{}
	so := &socketio.ServerOptions{Logger: quiet,
		Engine: &engineio.ServerOptions{Observer: engineio.Observers(obs, nil, truth)}}
	srv := socketio.NewServer(so)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("ev", func(s *socketio.Socket, args socketio.Args, _ socketio.AckFunc) {
			var p string
			_ = args.Decode(0, &p)
			_ = s.Emit("echo", p)
		})
	})
	// Production and an hour between stats: the only server_stats is the
	// one an admin gets when it connects.
	opts := &admin.Options{NoAuth: true, Production: true, ReadOnly: true, StatsInterval: time.Hour}
	if withObserver {
		opts.Engine = obs
	}
	adm, err := admin.Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := testutil.Serve(t, srv, func(ctx context.Context) error {
		_ = adm.Close()
		return srv.Shutdown(ctx)
	})
	f := &fixture{srv: srv, adm: adm, ts: ts}

	// A user sends N events of a known size; the server echoes each.
	const n = 20
	payload := strings.Repeat("x", 1000)
	// The size of an Engine.IO message is its data, the encoded Socket.IO
	// packet (the reference's Buffer.byteLength(data)).
	event := len(`2["ev",""]`) + len(payload)
	echo := len(`2["echo",""]`) + len(payload)
	u, _ := user(t, f, "/")
	got := make(chan struct{}, n)
	u.On("echo", func(socketio.Args, socketio.AckFunc) { got <- struct{}{} })
	for range n {
		if err := u.Emit("ev", payload); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("echo missing")
		}
	}
	u.Manager().Close()
	eventually(t, "the user's session closed", func() bool { return truth.closed.Load() == 1 })

	// The admin connects and gets the stats of all that.
	_, r, err := record(t, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := decode[admin.ServerStats](t, r.next(t, "server_stats", nil), 0)
	sum := map[string]int{}
	var reasons []string
	for _, e := range st.AggregatedEvents {
		sum[e.Type] += e.Count
		if e.Type == "rawDisconnection" {
			reasons = append(reasons, e.SubType)
		}
	}
	t.Logf("aggregated %v, disconnections %q", sum, reasons)
	if !withObserver {
		for _, typ := range []string{"packetsIn", "packetsOut", "bytesIn", "bytesOut"} {
			if sum[typ] != 0 {
				t.Fatalf("%s reported without Options.Engine: %v", typ, sum)
			}
		}
		return
	}
	// The user's traffic, and the little of the admin's before the stats.
	within := func(typ string, lo, slack int) {
		t.Helper()
		if sum[typ] < lo || sum[typ] > lo+slack {
			t.Fatalf("%s = %d, want %d (+ at most %d): %v", typ, sum[typ], lo, slack, sum)
		}
	}
	within("packetsIn", n, 4)
	within("packetsOut", n, 6)
	within("bytesIn", n*event, 100)
	within("bytesOut", n*echo, 400)
	within("rawConnection", 2, 0) // the user's and the admin's
	if !slices.Equal(reasons, []string{string(engineio.ReasonTransportClose)}) {
		t.Fatalf("rawDisconnection subtypes %q, want the Engine.IO reason %q", reasons, engineio.ReasonTransportClose)
	}
	// Exactly what the engine counted before the stats were built: all it
	// counted in, and all out but the server_stats itself.
	eventually(t, "the server_stats counted", func() bool { return int(truth.out.Load()) == sum["packetsOut"]+1 })
	if int(truth.in.Load()) != sum["packetsIn"] || int(truth.inBytes.Load()) != sum["bytesIn"] || int(truth.outBytes.Load()) <= sum["bytesOut"] {
		t.Fatalf("engine counted in %d (%d bytes), out %d (%d bytes); stats %v",
			truth.in.Load(), truth.inBytes.Load(), truth.out.Load(), truth.outBytes.Load(), sum)
	}
}
