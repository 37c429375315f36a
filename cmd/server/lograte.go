package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// logPerSecond is how many lines of one kind (connection, message) the demo
// logs per second; the lines over it are counted and the count is logged
// with the next line of that kind that is let through.
const logPerSecond = 20

// rateLog logs through log at most logPerSecond lines per kind and second.
// The kinds are the demo's few constants, so its map stays that small.
type rateLog struct {
	log *slog.Logger
	now func() time.Time // time.Now; tests set their own clock

	mu    sync.Mutex
	kinds map[string]*logWindow
}

type logWindow struct {
	start      time.Time
	n          int
	suppressed int
}

func newRateLog(log *slog.Logger) *rateLog {
	return &rateLog{log: log, now: time.Now, kinds: map[string]*logWindow{}}
}

// info logs msg with args as kind, unless kind is over its rate.
func (r *rateLog) info(kind, msg string, args ...any) {
	if !r.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	r.mu.Lock()
	now := r.now()
	w := r.kinds[kind]
	if w == nil {
		w = &logWindow{start: now}
		r.kinds[kind] = w
	}
	if now.Sub(w.start) >= time.Second {
		w.start, w.n = now, 0
	}
	if w.n >= logPerSecond {
		w.suppressed++
		r.mu.Unlock()
		return
	}
	w.n++
	suppressed := w.suppressed
	w.suppressed = 0
	r.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed_before", suppressed)
	}
	r.log.Info(msg, append([]any{"kind", kind}, args...)...)
}
