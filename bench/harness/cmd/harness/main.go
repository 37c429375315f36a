// Command harness runs the performance comparison of bench/harness: our
// Socket.IO server, the npm socket.io 4.8 server and a ceiling, side by side
// on this machine, and writes the table, one JSON line per result, the SVG
// charts and BENCHMARKS.md.
//
// The documented full run is scripts/bench.sh; by hand, from bench/:
//
//	go run ./harness/cmd/harness -out results -md ../BENCHMARKS.md
//
// With -pin (the default) the harness re-runs itself under taskset on the
// load generator's core and pins every server to the other core.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/bench/harness"
)

const pinnedEnv = "CORVID_BENCH_PINNED"

func main() {
	root := flag.String("root", "", "repository root (default: found from the working directory)")
	out := flag.String("out", "", "directory for results.jsonl, table.md and the SVG charts (relative to the root; empty: none)")
	md := flag.String("md", "", "write BENCHMARKS.md here (relative to the root; empty: none)")
	scen := flag.String("scenarios", "", "comma-separated scenarios (default all: "+strings.Join(harness.ScenarioNames(), ",")+")")
	servers := flag.String("servers", "", "comma-separated servers (default corvid,node,ceiling)")
	pin := flag.Bool("pin", true, "pin servers to -server-cpu and the load generator to -load-cpu (taskset)")
	serverCPU := flag.String("server-cpu", "0", "CPU list of the servers")
	loadCPU := flag.String("load-cpu", "1", "CPU list of the load generator")
	quick := flag.Bool("quick", false, "the smoke sizes (seconds, a few connections)")
	dur := flag.Duration("duration", 0, "measured stretch of each scenario (default 5s)")
	profile := flag.String("profile", "", "write pprof profiles of our server to this directory")
	gogc := flag.String("gogc", "", "GOGC of the Go servers (default: unset)")
	command := flag.String("command", "scripts/bench.sh", "the command shown in BENCHMARKS.md")
	commit := flag.String("commit", "", "the commit measured, shown in BENCHMARKS.md (default: git rev-parse HEAD in the root, marked when the tree differs)")
	render := flag.String("render", "", "render BENCHMARKS.md (-md), the table and the charts again from a results directory written by an earlier run (run.json, results.jsonl), without running anything")
	flag.Parse()
	if *render != "" {
		if err := rerender(*root, *render, *md); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
		return
	}

	if *pin && os.Getenv(pinnedEnv) == "" {
		if err := repin(*loadCPU); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
		return
	}
	r := *root
	if r == "" {
		var err error
		if r, err = findRoot(); err != nil {
			fmt.Fprintln(os.Stderr, "harness:", err)
			os.Exit(1)
		}
	}
	sz := harness.FullSizes()
	if *quick {
		sz = harness.SmokeSizes()
	}
	if *dur > 0 {
		sz.Duration = *dur
	}
	cfg := &harness.Config{
		Root: r, Sizes: &sz, Pin: *pin, ServerCPU: *serverCPU, LoadCPU: *loadCPU,
		ProfileDir: *profile, GOGC: *gogc, Log: os.Stderr,
	}
	if *scen != "" {
		cfg.Scenarios = strings.Split(*scen, ",")
	}
	if *servers != "" {
		cfg.Servers = strings.Split(*servers, ",")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	loadBefore := harness.LoadAvg()
	res, err := harness.Run(ctx, cfg)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "harness:", err)
		if len(res) == 0 {
			os.Exit(1)
		}
	}
	table := harness.Table(res)
	fmt.Println(table)
	fmt.Println(harness.TargetsTable(harness.Targets(res)))
	fmt.Printf("run took %s (load generator GOMAXPROCS %d)\n", elapsed.Round(time.Second), runtime.GOMAXPROCS(0))
	if *commit == "" {
		*commit = gitCommit(r)
	}
	rep := &harness.Report{Commit: *commit, Results: res, Sizes: sz, Command: *command, Start: start, Elapsed: elapsed, Pinned: *pin,
		ServerCPU: *serverCPU, LoadCPU: *loadCPU, LoadBefore: loadBefore, LoadAfter: harness.LoadAvg()}
	if *out != "" {
		dir := under(r, *out)
		if werr := rep.WriteDir(dir); werr != nil {
			fmt.Fprintln(os.Stderr, "harness:", werr)
			os.Exit(1)
		}
	}
	if *md != "" {
		if *out != "" {
			rep.ChartDir = chartDir(under(r, *md), under(r, *out))
		}
		if werr := os.WriteFile(under(r, *md), rep.Markdown(), 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "harness:", werr)
			os.Exit(1)
		}
	}
	if err != nil {
		os.Exit(1)
	}
}

// rerender renders an earlier run again (after a change of the report's code).
func rerender(root, dir, md string) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	full := under(root, dir)
	rep, err := harness.ReadDir(full)
	if err != nil {
		return err
	}
	if err := rep.WriteDir(full); err != nil {
		return err
	}
	if md == "" {
		return nil
	}
	rep.ChartDir = chartDir(under(root, md), full)
	return os.WriteFile(under(root, md), rep.Markdown(), 0o644)
}

// chartDir is the charts' directory as the Markdown file md links to it.
func chartDir(md, dir string) string {
	rel, err := filepath.Rel(filepath.Dir(md), dir)
	if err != nil {
		return dir
	}
	return rel
}

// gitCommit describes the commit of the tree at root ("unknown" outside git).
func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " with uncommitted changes"
	}
	return c
}

// under returns p, relative to root unless it is absolute.
func under(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// repin runs this same command again under taskset on cpus.
func repin(cpus string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpus, exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	signal.Ignore(syscall.SIGINT)
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			os.Exit(ee.ExitCode())
		}
		return err
	}
	return nil
}

// findRoot walks up from the working directory to the repository root (the
// directory holding bench/harness).
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if st, err := os.Stat(filepath.Join(dir, "bench", "harness")); err == nil && st.IsDir() {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no bench/harness above the working directory")
		}
		dir = parent
	}
}
