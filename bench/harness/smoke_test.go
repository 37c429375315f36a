package harness

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

func TestMain(m *testing.M) { testutil.LeakCheck(m) }

// TestSmoke runs every scenario of the harness with a few connections for a
// fraction of a second against every server, and checks that each produced
// every figure, non-zero, for each server. It asserts nothing about speed.
func TestSmoke(t *testing.T) {
	for _, tool := range []string{"go", "node", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the harness needs %s: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sz := SmokeSizes()
	res, err := Run(ctx, &Config{
		Root:        testutil.RepoRoot(t),
		Sizes:       &sz,
		NodeModules: testutil.NodeModules(t),
		Log:         testLog{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ scenario, server, metric string }
	got := map[key]Result{}
	for _, r := range res {
		got[key{r.Scenario, r.Server, r.Metric}] = r
	}
	// Every scenario yields the same metrics for each of its servers.
	for _, sc := range scenarios() {
		names := []string{sc.name}
		if sc.name == "idle" {
			names = names[:0]
			for _, n := range sz.Idle {
				names = append(names, "idle-"+itoa(n))
			}
		}
		for _, name := range names {
			var metrics []string
			for _, r := range res {
				if r.Scenario == name && r.Server == sc.servers[0] {
					metrics = append(metrics, r.Metric)
				}
			}
			if len(metrics) < 3 {
				t.Errorf("%s: %d figures for %s, want at least 3", name, len(metrics), sc.servers[0])
			}
			for _, srv := range sc.servers {
				for _, m := range metrics {
					r, ok := got[key{name, srv, m}]
					switch {
					case !ok:
						t.Errorf("%s %s: no %q", name, srv, m)
					case strings.Contains(m, "CPU"):
						// A few connections for a fraction of a second may
						// cost less than one clock tick.
						if r.Value < 0 {
							t.Errorf("%s %s: %s = %v", name, srv, m, r.Value)
						}
					case !(r.Value > 0) || r.Value > 1e12:
						t.Errorf("%s %s: %s = %v, want a positive figure", name, srv, m, r.Value)
					}
				}
			}
		}
	}
	// The report is built from these results.
	table := Table(res)
	if len(table) == 0 {
		t.Error("empty table")
	}
	for _, c := range Charts(res) {
		if len(c.SVG) == 0 {
			t.Errorf("chart %s is empty", c.Name)
		}
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
