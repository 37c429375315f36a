package lograte

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLimiter lets the burst through, drops the rest, lets one more through
// per interval and reports how many it dropped before it.
func TestLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := &Limiter{Burst: 3, Interval: 50 * time.Millisecond}
	for range 1000 {
		Log(log, l, slog.LevelWarn, "refused", "room", strings.Repeat("x", 100))
	}
	if n := strings.Count(buf.String(), "\n"); n != 3 {
		t.Fatalf("%d lines for 1000 calls, want the burst of 3", n)
	}
	time.Sleep(60 * time.Millisecond)
	buf.Reset()
	Log(log, l, slog.LevelWarn, "refused")
	if !strings.Contains(buf.String(), "suppressed=997") {
		t.Fatalf("line after the interval = %q, want suppressed=997", buf.String())
	}
	// Below the handler's level: not logged, not charged.
	buf.Reset()
	for range 100 {
		Log(log, l, slog.LevelDebug, "debug")
	}
	if buf.Len() != 0 {
		t.Fatalf("debug lines logged: %q", buf.String())
	}
	if l.dropped != 0 {
		t.Fatalf("debug lines counted as dropped: %d", l.dropped)
	}
}

func TestTrunc(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcdef", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: not cut in the middle
	} {
		if got := Trunc(c.in, c.n); got != c.want {
			t.Errorf("Trunc(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
