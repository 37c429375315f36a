// Package lograte bounds the log lines that peers can cause: a Limiter lets a
// burst of lines through, then one per interval, and counts the lines it
// dropped so that the next line that passes can say how many.
//
// socketio and helper log through it every line a client can trigger again
// and again (a packet out of place, a refused join, a panicking handler), so
// that a client cannot turn its bytes into more log bytes than the limit:
// with the defaults, 10 lines at once and then one a second per call site,
// whatever the number of clients.
package lograte

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults of a zero Limiter.
const (
	DefaultBurst    = 10
	DefaultInterval = time.Second
)

// Limiter is a token bucket of log lines. Its zero value lets DefaultBurst
// lines through, then one per DefaultInterval. It is safe for concurrent use.
type Limiter struct {
	Burst    int           // lines let through at once; 0 means DefaultBurst
	Interval time.Duration // one more line per Interval; 0 means DefaultInterval

	mu      sync.Mutex
	started bool
	tokens  float64
	last    time.Time
	dropped uint64
}

// Allow reports whether a line may be logged now and, when it may, how many
// lines were dropped since the last one let through.
func (l *Limiter) Allow() (ok bool, dropped uint64) {
	burst, interval := l.Burst, l.Interval
	if burst <= 0 {
		burst = DefaultBurst
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started {
		l.started, l.tokens, l.last = true, float64(burst), now
	} else if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = min(float64(burst), l.tokens+float64(elapsed)/float64(interval))
		l.last = now
	}
	if l.tokens < 1 {
		l.dropped++
		return false, 0
	}
	l.tokens--
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// Log logs msg with args at level on log when l allows it, with a
// "suppressed" attribute counting the lines dropped before it (when any). The
// arguments are not evaluated any further when the line is dropped, and a
// level log does not handle is not charged to l.
func Log(log *slog.Logger, l *Limiter, level slog.Level, msg string, args ...any) {
	ctx := context.Background()
	if !log.Enabled(ctx, level) {
		return
	}
	ok, dropped := l.Allow()
	if !ok {
		return
	}
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	log.Log(ctx, level, msg, args...)
}

// Trunc returns s cut to at most n bytes (on a rune boundary) with "…" added
// when it was cut: for a string a peer sent, in a log line.
func Trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
