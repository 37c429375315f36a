package testutil

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// ignoredFrames are goroutines that belong to the runtime, the testing package or
// the standard library's pools and are not leaks of ours.
var ignoredFrames = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.(*T).Run",
	"testing.(*F).Fuzz",
	"testing.runFuzzing",
	"runtime.goexit",
	"created by runtime.gc",
	"created by os/signal.Notify",
	"signal.signal_recv",
	"runtime.ensureSigM",
	"internal/poll.runtime_pollWait", // only ignored when under net/http's idle transport conns, see below
	"net/http.(*persistConn).readLoop",
	"net/http.(*persistConn).writeLoop",
	"testing/synctest",
}

// interesting reports the stacks of goroutines that are not the caller's nor ignored.
func interesting() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 { // the calling goroutine
			continue
		}
		g = strings.TrimSpace(g)
		if g == "" {
			continue
		}
		skip := false
		for _, f := range ignoredFrames {
			if f == "internal/poll.runtime_pollWait" {
				continue
			}
			if strings.Contains(g, f) {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, g)
		}
	}
	sort.Strings(out)
	return out
}

// Goroutines returns the stacks of the goroutines that LeakCheck would report now.
func Goroutines() []string { return interesting() }

// WaitGoroutines waits up to d for every goroutine that LeakCheck would report to
// end, and returns the ones still running.
func WaitGoroutines(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		g := interesting()
		if len(g) == 0 || time.Now().After(deadline) {
			return g
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LeakCheck runs the package's tests and then fails the run when goroutines other
// than the runtime's and the testing package's are still alive 5 seconds later.
// Use it as the body of TestMain:
//
//	func TestMain(m *testing.M) { testutil.LeakCheck(m) }
//
// The after functions run once the tests are done, before the check (to stop
// what TestMain started for them).
func LeakCheck(m *testing.M, after ...func()) {
	code := m.Run()
	for _, f := range after {
		f()
	}
	if code == 0 {
		if left := WaitGoroutines(5 * time.Second); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) left after the tests:\n\n%s\n",
				len(left), strings.Join(left, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// CheckNoNewGoroutines fails t when, within d, the number of goroutines does not
// return to at most base (as returned by runtime.NumGoroutine before the work).
func CheckNoNewGoroutines(t testing.TB, base int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d, want at most %d\n%s", n, base, strings.Join(interesting(), "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
