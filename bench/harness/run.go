package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Sizes bound a run: client counts and durations of every scenario.
type Sizes struct {
	Idle                []int         // idle websocket connections, one measure per count
	EchoClients         int           // echo with acks, websocket
	FanoutClients       int           // broadcast receivers, websocket
	FanoutRate          int           // broadcasts per second in fanout-rate
	FanoutWindow        int64         // broadcasts in flight in fanout-max
	RoomsClients, Rooms int           // clients spread evenly over rooms
	RoomsWindow         int64         // room emits in flight
	PollEchoClients     int           // echo with acks, polling only
	PollFanoutClients   int           // broadcast receivers, polling only
	BinaryClients       int           // echo of a binary attachment with ack
	BinarySize          int           // bytes of the attachment
	RedisClients        int           // receivers over the two nodes
	ConnectConcurrency  int           // dials in flight while connecting
	Warmup, Duration    time.Duration // of every measured stretch
	Rounds              int           // measured stretches per scenario (their medians are reported)
	Settle              time.Duration // idle: wait before reading RSS
}

// FullSizes are the sizes of the documented full run (about ten minutes on a
// 2-core machine).
func FullSizes() Sizes {
	return Sizes{
		Idle:          []int{1000, 10000},
		EchoClients:   100,
		FanoutClients: 1000, FanoutRate: 20, FanoutWindow: 32,
		RoomsClients: 10000, Rooms: 1000, RoomsWindow: 256,
		PollEchoClients: 50, PollFanoutClients: 200,
		BinaryClients: 50, BinarySize: 64 << 10,
		RedisClients:       1000,
		ConnectConcurrency: 50,
		Warmup:             time.Second, Duration: 4 * time.Second, Rounds: 3,
		Settle: 3 * time.Second,
	}
}

// SmokeSizes are a few connections and fractions of a second: they check that
// every scenario works against every server.
func SmokeSizes() Sizes {
	return Sizes{
		Idle:          []int{200},
		EchoClients:   4,
		FanoutClients: 20, FanoutRate: 20, FanoutWindow: 4,
		RoomsClients: 20, Rooms: 4, RoomsWindow: 8,
		PollEchoClients: 3, PollFanoutClients: 5,
		BinaryClients: 2, BinarySize: 64 << 10,
		RedisClients:       10,
		ConnectConcurrency: 10,
		Warmup:             100 * time.Millisecond, Duration: 400 * time.Millisecond, Rounds: 1,
		Settle: 100 * time.Millisecond,
	}
}

// Config is one run of the harness. The zero value of a field means its
// default.
type Config struct {
	// Root is the repository root (the directory holding bench/).
	Root string
	// Sizes; zero means FullSizes.
	Sizes *Sizes
	// Servers to compare (default Corvid, Node, Ceiling) and Scenarios to run
	// (default all; see ScenarioNames).
	Servers, Scenarios []string
	// Pin runs every server with taskset on ServerCPU (default "0"); the
	// caller pins the load generator itself (LoadCPU, default "1", is only
	// reported).
	Pin                bool
	ServerCPU, LoadCPU string
	// NodeModules, when set, is the NODE_PATH of the Node server instead of
	// bench/node/node_modules installed with npm ci.
	NodeModules string
	// ProfileDir, when set, receives pprof CPU profiles of our server during
	// the measured stretches and a heap profile of the idle scenarios.
	ProfileDir string
	// GOGC, when set, is passed to the Go servers.
	GOGC string
	// Log receives progress lines (default io.Discard).
	Log io.Writer
}

// Run runs the scenarios against the servers and returns every figure.
func Run(ctx context.Context, cfg *Config) ([]Result, error) {
	c := *cfg
	if c.Sizes == nil {
		s := FullSizes()
		c.Sizes = &s
	}
	if c.Sizes.Rounds < 1 {
		sz := *c.Sizes
		sz.Rounds = 1
		c.Sizes = &sz
	}
	if len(c.Servers) == 0 {
		c.Servers = []string{Corvid, Node, Ceiling}
	}
	if len(c.Scenarios) == 0 {
		c.Scenarios = ScenarioNames()
	}
	if c.ServerCPU == "" {
		c.ServerCPU = "0"
	}
	if c.LoadCPU == "" {
		c.LoadCPU = "1"
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	raiseNoFile()
	if c.ProfileDir != "" {
		if err := os.MkdirAll(c.ProfileDir, 0o755); err != nil {
			return nil, err
		}
	}
	e, err := newEnv(ctx, &c)
	if err != nil {
		return nil, err
	}
	defer e.close()
	r := &runner{cfg: &c, sz: c.Sizes, env: e}
	var all []Result
	for _, sc := range scenarios() {
		if !slices.Contains(c.Scenarios, sc.name) {
			continue
		}
		for _, srv := range c.Servers {
			if !slices.Contains(sc.servers, srv) {
				continue
			}
			t0 := time.Now()
			res, err := sc.run(ctx, r, srv)
			if err != nil {
				return all, fmt.Errorf("%s on %s: %w", sc.name, srv, err)
			}
			for _, x := range res {
				fmt.Fprintf(c.Log, "%-16s %-8s %-22s %12.2f %-6s loadgen %5.1f%%%s\n", x.Scenario, x.Server, x.Metric, x.Value, x.Unit, x.LoadgenCPU, mark(x.LowerBound))
			}
			fmt.Fprintf(c.Log, "  (%s on %s: %.1fs)\n", sc.name, srv, time.Since(t0).Seconds())
			all = append(all, res...)
		}
	}
	return all, nil
}

func mark(lower bool) string {
	if lower {
		return " (lower bound: load generator saturated)"
	}
	return ""
}

// runner carries a run's configuration to the scenarios.
type runner struct {
	cfg *Config
	sz  *Sizes
	env *env
}

// profile fetches a pprof endpoint of our server (path under /debug/pprof/)
// into ProfileDir/file; it returns a function that waits for it.
func (r *runner) profile(s *server, file, path string) func() {
	if s.pprof == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + s.pprof + "/debug/pprof/" + path)
		if err != nil {
			fmt.Fprintln(r.cfg.Log, "pprof:", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(r.cfg.ProfileDir, file))
		if err != nil {
			return
		}
		io.Copy(f, resp.Body)
		f.Close()
	}()
	return func() { <-done }
}
