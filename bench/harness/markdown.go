package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Report is a finished run: its results and how it was made.
type Report struct {
	Commit  string   // the code measured
	Results []Result `json:"-"`
	Sizes   Sizes
	Command string
	Start   time.Time
	Elapsed time.Duration
	Pinned  bool
	// LoadBefore and LoadAfter are /proc/loadavg at the start and the end of
	// the run (other work on the machine shows there).
	LoadBefore, LoadAfter string
	ServerCPU, LoadCPU    string
	// ChartDir is where the charts are, relative to the repository root (set
	// by WriteDir's caller); empty: no charts in the Markdown.
	ChartDir string
}

// WriteDir writes results.jsonl, table.md and one SVG per chart into dir.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), JSONLines(r.Results), 0o644); err != nil {
		return err
	}
	meta, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "run.json"), append(meta, '\n'), 0o644); err != nil {
		return err
	}
	t := Table(r.Results) + "\n" + TargetsTable(Targets(r.Results))
	if err := os.WriteFile(filepath.Join(dir, "table.md"), []byte(t), 0o644); err != nil {
		return err
	}
	for _, c := range Charts(r.Results) {
		if err := os.WriteFile(filepath.Join(dir, c.Name+".svg"), c.SVG, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ReadDir loads a report written by WriteDir (run.json and results.jsonl),
// to render it again.
func ReadDir(dir string) (*Report, error) {
	meta, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, err
	}
	r := &Report{}
	if err := json.Unmarshal(meta, r); err != nil {
		return nil, fmt.Errorf("harness: %s: %w", filepath.Join(dir, "run.json"), err)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "results.jsonl"))
	if err != nil {
		return nil, err
	}
	for line := range bytes.SplitSeq(bytes.TrimSpace(lines), []byte("\n")) {
		var res Result
		if err := json.Unmarshal(line, &res); err != nil {
			return nil, fmt.Errorf("harness: results.jsonl: %w", err)
		}
		r.Results = append(r.Results, res)
	}
	return r, nil
}

// machine describes this machine in one line.
func machine() string {
	model, cpus := "unknown CPU", 0 // runtime.NumCPU counts only the CPUs we are pinned to
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.HasPrefix(line, "processor") {
				cpus++
			}
			if v, ok := strings.CutPrefix(line, "model name"); ok && cpus == 1 {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				mem = fmt.Sprintf(", %.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	node := "node not found"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		node = "Node " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d × %s%s%s; %s, %s", cpus, model, mem, kernel, runtime.Version(), node)
}

// LoadAvg returns the first three fields of /proc/loadavg.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], ", ")
}

// Markdown renders BENCHMARKS.md: the machine, the date, the command, what
// each scenario means, the targets, the table and the charts.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Benchmarks\n\n")
	p("Our Socket.IO server (corvid, package socketio) side by side with the npm socket.io 4.8.4 server on Node.js and with a ceiling, ")
	p("measured in one run of the harness in `bench/harness` on one machine. This file is written by the harness; ")
	p("numbers from another machine or another run are not comparable with these: compare the ratios.\n\n")
	p("- Machine: %s.\n", machine())
	p("- Date: %s (the run took %s).\n", r.Start.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second))
	if r.LoadBefore != "" {
		p("- Load average (1, 5, 15 min) at the start of the run: %s; at the end: %s. Anything else running on the machine shares the servers' and the load generator's cores: figures move between runs, the ratios within one run are what compares.\n", r.LoadBefore, r.LoadAfter)
	}
	if r.Commit != "" {
		p("- Code: commit %s.\n", r.Commit)
	}
	p("- Command: `%s` (from the repository root; it installs the pinned npm packages of `bench/node` with `npm ci`, builds the Go servers, raises `ulimit -n`, and writes this file, `bench/results/`).\n", r.Command)
	if r.Pinned {
		p("- Pinning: each server process runs on CPU %s (taskset), the load generator on CPU %s. The Go servers therefore run with GOMAXPROCS=1, Node on its single event loop.\n", r.ServerCPU, r.LoadCPU)
	} else {
		p("- Pinning: off (servers and load generator share the CPUs).\n")
	}
	p("- Each scenario: a fresh server process, the clients connect, %s of warm-up, then %d measured stretches of %s back to back; each figure is the median of the stretches. Payloads are 100-byte strings unless said otherwise.\n\n", r.Sizes.Warmup, r.Sizes.Rounds, r.Sizes.Duration)

	p("## The servers\n\n")
	p("- **corvid**: `bench/harness/cmd/corvidserver`, a `socketio.Server` with default options and the handlers the scenarios need (echo with ack, broadcast, emit to a room); for the Redis scenario, `adapter/redis` in classic mode.\n")
	p("- **node**: `bench/node/server.js`, npm socket.io 4.8.4 on Node.js with the same handlers; for the Redis scenario, @socket.io/redis-adapter 8.3.0 with redis 4.7.1.\n")
	p("- **ceiling**: `bench/harness/cmd/ceilingserver`, a minimal server on github.com/coder/websocket that does the same work with nothing of our stack: pre-encoded frames, no rooms abstraction, no adapter, one reader goroutine per connection, direct writes, one runtime timer per connection for pings. Websocket only. It is a yardstick, not a product.\n\n")
	p("The load generator (in the harness process) speaks Engine.IO v4 / Socket.IO v5 itself, so it is the same for every server: over WebSocket with its own small RFC 6455 client, every connection read by one goroutine on an epoll set (one read per delivery; closed loops send the next request from there), and over HTTP long-polling with its own HTTP/1.1 client on keep-alive connections. General-purpose clients (coder/websocket, net/http) cost the load generator more CPU per message than the fastest servers spend, and it saturated first. ")
	p("Latencies are measured from the load generator's send to the receiver's read, on one clock (both ends are in the load generator).\n\n")

	p("## Scenarios\n\n")
	for _, sc := range scenarios() {
		p("- **%s** (%s): %s\n", sc.name, strings.Join(sc.servers, ", "), sc.desc(&r.Sizes))
	}
	p("\nThe idle scenario runs at %s connections.\n\n", joinInts(r.Sizes.Idle))

	p("## Reading the figures\n\n")
	p("Every figure carries the load generator's CPU over the same stretch (\"lg\", percent of its core). ")
	p("Where the load generator used %d%% or more of its core, a throughput is marked \"≥\" (a lower bound: the server may be faster) and any other figure \"\\*\". ", saturated)
	p("\"server CPU\" is the server process's user+system time over the stretch in percent of one core (both nodes summed in the Redis scenario). ")
	p("\"RSS per conn\" is the growth of the server's resident set size from before the first connection to a few seconds after the last, divided by the number of connections. ")
	p("\"per server CPU-s\" divides the work done in a stretch by the server's CPU time in it: what one core of the server does, also where the load generator did not ask for more than the server could give (in closed loops the throughput is bounded by the round trip, not always by the server). ")
	p("Ratios are corvid divided by the other server: above 1 is better for throughputs, below 1 is better for memory, CPU and latency.\n\n")

	p("## Targets\n\n")
	p("Each target is checked on this run's figures. The last column is the share of each server's CPU that other processes on the machine took while the figure was measured: where it differs much between the two servers, the ratio reflects the machine more than the servers (see \"deliveries per server CPU-s\" and \"acks per server CPU-s\" in the table for the work per core).\n\n")
	p("%s\n", TargetsTable(Targets(r.Results)))

	p("## All figures\n\n%s\n", Table(r.Results))

	if ct := ContentionTable(r.Results); ct != "" {
		p("## Other work on the pinned CPUs\n\n")
		p("The share of each pinned CPU that other processes on the machine (and the hypervisor, as steal time) took during the measured stretches (medians of the stretches; user, nice, system and steal time of the CPU minus the pinned process's own; interrupt time left out). High figures mean the run competed with other work: its absolute figures are then low, and the ratios less certain.\n\n%s\n", ct)
	}

	if r.ChartDir != "" {
		p("## Charts\n\n")
		for _, c := range Charts(r.Results) {
			p("![%s](%s)\n\n", c.Title, path.Join(filepath.ToSlash(r.ChartDir), c.Name+".svg"))
		}
		p("One JSON object per figure: `%s`.\n", path.Join(filepath.ToSlash(r.ChartDir), "results.jsonl"))
	}
	return b.Bytes()
}

func joinInts(ns []int) string {
	var s []string
	for _, n := range ns {
		s = append(s, group(itoa(n)))
	}
	return strings.Join(s, " and ")
}
