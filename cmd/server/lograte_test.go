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
	r.msg.Interval, r.conn.Interval = time.Hour, time.Hour // no refill during the burst
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
	// The next line let through reports what was left out.
	r.msg.Interval = time.Millisecond
	time.Sleep(5 * time.Millisecond)
	buf.Reset()
	r.info("message", "chat")
	if !strings.Contains(buf.String(), "suppressed=980") {
		t.Fatalf("no count of the suppressed lines: %q", buf.String())
	}
}
