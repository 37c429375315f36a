package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRateLogBoundsEachKind(t *testing.T) {
	var buf bytes.Buffer
	r := newRateLog(slog.New(slog.NewTextHandler(&buf, nil)))
	clock := time.Unix(1000, 0)
	r.now = func() time.Time { return clock }
	for i := 0; i < 1000; i++ {
		r.info("message", "chat", "i", i)
	}
	r.info("connection", "client authenticated")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	msgs, conns := 0, 0
	for _, l := range lines {
		switch {
		case strings.Contains(l, "kind=message"):
			msgs++
		case strings.Contains(l, "kind=connection"):
			conns++
		}
	}
	if msgs != logPerSecond || conns != 1 {
		t.Fatalf("%d message lines (want %d), %d connection lines (want 1)", msgs, logPerSecond, conns)
	}
	// The next window's first line reports what was left out.
	clock = clock.Add(time.Second)
	buf.Reset()
	r.info("message", "chat")
	if !strings.Contains(buf.String(), "suppressed_before=980") {
		t.Fatalf("no count of the suppressed lines: %q", buf.String())
	}
}
