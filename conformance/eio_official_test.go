package conformance

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/engineio"
)

// TestEIOOfficialSuite runs the official engine.io-protocol suite (never committed
// here) against our echo server, through the runner script that fetches nothing
// and only adapts the suite's URL:
//
//	OFFICIAL_SUITES_DIR=<dir with engine.io-protocol/test-suite> \
//	OFFICIAL_SUITES_RUNNER=<path to run-official-suites.sh> go test -run TestEIOOfficialSuite ./conformance/
//
// Without both variables the test is skipped; with them it requires 24/24.
func TestEIOOfficialSuite(t *testing.T) {
	runner := os.Getenv("OFFICIAL_SUITES_RUNNER")
	if runner == "" || os.Getenv("OFFICIAL_SUITES_DIR") == "" {
		t.Skip("set OFFICIAL_SUITES_DIR and OFFICIAL_SUITES_RUNNER to run the official suite")
	}
	opts := suiteOptions()
	opts.CORS = &engineio.CORSOptions{Origins: []string{"*"}}
	d := startEIO(t, eioEchoHandler, opts)
	target := strings.TrimSuffix(d.base, "/engine.io/")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, runner, target, "skip").CombinedOutput()
	t.Logf("%s", out)
	const want = "engine.io-protocol: 24 passed, 0 failed"
	if !strings.Contains(string(out), want) {
		t.Fatalf("runner: %v; want the summary line %q", err, want)
	}
}
