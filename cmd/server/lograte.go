package main

import (
	"log/slog"
	"time"

	"github.com/corvid-io/corvid/internal/lograte"
)

// logPerSecond is how many lines of one kind (connection, message) the demo
// logs per second; the lines over it are counted and the count is logged
// with the next line of that kind that is let through.
const logPerSecond = 20

// rateLog logs the demo's connections and messages, each kind through its
// own limiter (internal/lograte: logPerSecond at once, then one every
// 1/logPerSecond s).
type rateLog struct {
	log       *slog.Logger
	conn, msg lograte.Limiter
}

func newRateLog(log *slog.Logger) *rateLog {
	r := &rateLog{log: log}
	for _, l := range []*lograte.Limiter{&r.conn, &r.msg} {
		l.Burst, l.Interval = logPerSecond, time.Second/logPerSecond
	}
	return r
}

// info logs msg with args as kind ("connection" or "message"), unless kind
// is over its rate.
func (r *rateLog) info(kind, msg string, args ...any) {
	l := &r.msg
	if kind == "connection" {
		l = &r.conn
	}
	lograte.Log(r.log, l, slog.LevelInfo, msg, append([]any{"kind", kind}, args...)...)
}
