package conformance

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// csrGoClient records what a Go client socket receives from the csr server.
type csrGoClient struct {
	s *socketio.ClientSocket

	mu        sync.Mutex
	gaps      map[int][]int
	offsets   map[string]int
	connects  chan bool // Recovered() at each connect
	gapEnds   chan int
	helloArgs chan int // number of args of "hello"
}

func dialCSR(t *testing.T, url, transport string, delay time.Duration) *csrGoClient {
	t.Helper()
	c := &csrGoClient{gaps: map[int][]int{}, offsets: map[string]int{}, connects: make(chan bool, 8),
		gapEnds: make(chan int, 8), helloArgs: make(chan int, 8)}
	s, err := socketio.NewClientSocket(url, &socketio.ClientOptions{
		ManagerOptions: socketio.ManagerOptions{
			Transports:           []string{transport},
			ReconnectionDelay:    delay,
			ReconnectionDelayMax: delay,
			RandomizationFactor:  -1,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Manager().Close() })
	c.s = s
	s.On("hello", func(args socketio.Args, _ socketio.AckFunc) { c.helloArgs <- args.Len() })
	s.On("gap", func(args socketio.Args, _ socketio.AckFunc) {
		var round, seq int
		var off string
		if args.Len() != 3 || args.Decode(0, &round) != nil || args.Decode(1, &seq) != nil || args.Decode(2, &off) != nil {
			t.Errorf("gap args: %d", args.Len())
			return
		}
		c.mu.Lock()
		c.gaps[round] = append(c.gaps[round], seq)
		c.offsets[off]++
		c.mu.Unlock()
	})
	s.On("gap-end", func(args socketio.Args, _ socketio.AckFunc) {
		var round int
		args.Decode(0, &round)
		c.gapEnds <- round
	})
	s.OnConnect(func() { c.connects <- s.Recovered() })
	return c
}

func (c *csrGoClient) round(r int) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.gaps[r])
}

func csrWait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

type csrReport struct {
	Rooms     []string       `json:"rooms"`
	Data      map[string]any `json:"data"`
	Recovered bool           `json:"recovered"`
	ID        string         `json:"id"`
}

func (c *csrGoClient) report(t *testing.T) csrReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args, err := c.s.EmitWithAck(ctx, "report")
	if err != nil {
		t.Fatalf("report: %v", err)
	}
	var r csrReport
	if err := args.Decode(0, &r); err != nil {
		t.Fatalf("report: %v", err)
	}
	return r
}

// TestCSRGoClient: the same scenario as TestCSRNodeClient with our client,
// against the Go server and against npm socket.io 4.8
// (conformance/node/csr_server.js).
func TestCSRGoClient(t *testing.T) {
	const window = 2 * time.Second
	for _, server := range []string{"go", "node"} {
		for _, transport := range []string{"websocket", "polling"} {
			t.Run(server+"/"+transport, func(t *testing.T) {
				var url string
				if server == "go" {
					url = startCSRServer(t, window).url
				} else {
					testutil.NodeModules(t)
					port := testutil.FreePort(t)
					node := testutil.StartNode(t, "conformance/node/csr_server.js", strconv.Itoa(port),
						strconv.Itoa(int(window/time.Millisecond)))
					node.WaitLine(t, "listening", 20*time.Second)
					url = "http://127.0.0.1:" + strconv.Itoa(port)
				}
				csrGoClientScenario(t, url, transport)
			})
		}
	}
}

func csrGoClientScenario(t *testing.T, url, transport string) {
	c := dialCSR(t, url, transport, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if csrWait(t, c.connects, "connect") {
		t.Fatal("recovered on the first connection")
	}
	if n := csrWait(t, c.helloArgs, "hello"); n != 2 {
		t.Fatalf("hello has %d args, want the greeting and its offset", n)
	}
	id1 := c.s.ID()
	drops := []func(){
		c.s.Manager().DropConnection,
		func() {
			if err := c.s.Emit("drop-me"); err != nil {
				t.Fatal(err)
			}
		},
	}
	for i, drop := range drops {
		round := i + 1
		drop()
		if !csrWait(t, c.connects, "reconnect") {
			t.Fatalf("round %d: not recovered", round)
		}
		if r := csrWait(t, c.gapEnds, "gap-end"); r != round {
			t.Fatalf("gap-end of round %d, want %d", r, round)
		}
		if got := c.round(round); !slices.Equal(got, csrExpected()) {
			t.Fatalf("round %d: got %v, want %v", round, got, csrExpected())
		}
		if c.s.ID() != id1 {
			t.Fatalf("id %q after recovery, want %q", c.s.ID(), id1)
		}
		rep := c.report(t)
		if !rep.Recovered || rep.ID != id1 || !slices.Contains(rep.Rooms, "room-a") || rep.Data["user"] != "csr" {
			t.Fatalf("round %d: server state %+v", round, rep)
		}
	}
	c.mu.Lock()
	for off, n := range c.offsets {
		if n != 1 {
			t.Errorf("offset %q seen %d times", off, n)
		}
	}
	c.mu.Unlock()
}

// TestCSRGoClientPastWindow: a client that comes back after the window gets a
// fresh session and none of the packets sent while it was away.
func TestCSRGoClientPastWindow(t *testing.T) {
	const window = 500 * time.Millisecond
	cs := startCSRServer(t, window)
	c := dialCSR(t, cs.url, "websocket", window+time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	csrWait(t, c.connects, "connect")
	csrWait(t, c.helloArgs, "hello")
	id1 := c.s.ID()
	c.s.Manager().DropConnection()
	if csrWait(t, c.connects, "reconnect") {
		t.Fatal("recovered after the window")
	}
	csrWait(t, c.helloArgs, "hello of the fresh session")
	rep := c.report(t)
	if rep.Recovered || rep.ID == id1 || c.s.ID() == id1 {
		t.Fatalf("fresh session expected: %+v (old id %s)", rep, id1)
	}
	if got := c.round(1); len(got) != 0 {
		t.Fatalf("got %v of the round sent while away", got)
	}
}
