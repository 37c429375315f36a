package socketio

import (
	"sync/atomic"
	"time"
)

// logLimiter lets one log line through per interval and counts the others, for
// errors a peer can make happen again and again (a client connecting to a
// dynamic namespace whose adapter cannot be made).
type logLimiter struct {
	last    atomic.Int64 // unix nanoseconds of the last line let through
	dropped atomic.Int64 // lines suppressed since then
}

// logInterval is the least time between two lines of one logLimiter.
const logInterval = time.Second

// allow reports whether a line may be logged now, and how many were
// suppressed since the last one.
func (l *logLimiter) allow() (bool, int64) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(logInterval) || !l.last.CompareAndSwap(last, now) {
		l.dropped.Add(1)
		return false, 0
	}
	return true, l.dropped.Swap(0)
}
