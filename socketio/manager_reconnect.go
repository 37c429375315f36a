package socketio

import (
	"math"
	"math/rand/v2"
	"time"
)

// clientBackoff is the reconnection delay policy of socket.io-client (its
// backo2 contribution): min·2^attempts, then moved by a random deviation of up to
// jitter·delay, up or down, and capped at max.
type clientBackoff struct {
	min, max time.Duration
	jitter   float64
	attempts int
	rand     func() float64 // [0,1); rand.Float64 unless a test sets it
}

// duration returns the delay before the next attempt and counts the attempt.
func (b *clientBackoff) duration() time.Duration {
	ms := float64(b.min) * math.Pow(2, float64(b.attempts))
	b.attempts++
	if b.jitter > 0 {
		r := b.rand
		if r == nil {
			r = rand.Float64
		}
		x := r()
		deviation := math.Floor(x * b.jitter * ms)
		if int(math.Floor(x*10))&1 == 0 {
			ms -= deviation
		} else {
			ms += deviation
		}
	}
	if ms > float64(b.max) || math.IsInf(ms, 1) {
		ms = float64(b.max)
	}
	return time.Duration(ms)
}

func (b *clientBackoff) reset() { b.attempts = 0 }

// reconnectLocked schedules the next reconnection attempt, or gives up with the
// reconnect failed event after ReconnectionAttempts. m.mu is held.
func (m *Manager) reconnectLocked() {
	if m.reconnecting || m.skipReconnect || m.closed {
		return
	}
	if m.opts.ReconnectionAttempts > 0 && m.backoff.attempts >= m.opts.ReconnectionAttempts {
		m.backoff.reset()
		m.reconnecting = false
		m.emitManager(func(h *managerHandlers) {
			if h.reconnectFailed != nil {
				h.reconnectFailed()
			}
		})
		return
	}
	delay := m.backoff.duration()
	m.reconnecting = true
	m.wg.Add(1)
	m.reconnectTimer = time.AfterFunc(delay, m.reconnectFire)
}

// reconnectFire runs when the delay is over: it announces the attempt and opens
// the connection.
func (m *Manager) reconnectFire() {
	defer m.wg.Done()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reconnectTimer = nil
	if m.skipReconnect || m.closed {
		m.reconnecting = false
		return
	}
	attempt := m.backoff.attempts
	m.emitManager(func(h *managerHandlers) {
		if h.reconnectAttempt != nil {
			h.reconnectAttempt(attempt)
		}
	})
	m.openLocked(true)
}

// stopReconnectLocked cancels a scheduled attempt. m.mu is held.
func (m *Manager) stopReconnectLocked() {
	if m.reconnectTimer != nil && m.reconnectTimer.Stop() {
		m.wg.Done()
	}
	m.reconnectTimer = nil
	m.reconnecting = false
}
