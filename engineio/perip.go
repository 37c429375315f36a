package engineio

import "time"

// ipTable holds the per-IP limits (ServerOptions.MaxSessionsPerIP,
// HandshakeRatePerIP): for each client IP, its open sessions and its
// handshake token bucket. Guarded by Server.mu.
//
// An IP has an entry while it has sessions, or while its bucket is not full
// again: once its last session ends, the entry waits in idle (oldest first)
// for the time a bucket takes to refill from empty (burst/rate), and is then
// removed unless the IP came back meanwhile. The table thus holds at most
// one entry per session plus one per handshake of the last burst/rate
// seconds, and each handshake does O(1) amortized work on it.
type ipTable struct {
	m    map[string]*ipEntry
	idle []idleIP // entries whose sessions have ended, oldest first
	gen  uint64
}

type ipEntry struct {
	sessions int
	tokens   float64
	refilled time.Time
	idleGen  uint64 // of its idle record while it has no session; 0 otherwise
}

type idleIP struct {
	ip    string
	since time.Time
	gen   uint64
}

// perIP reports whether any per-IP limit is set.
func (o *options) perIP() bool { return o.MaxSessionsPerIP > 0 || o.HandshakeRatePerIP > 0 }

// admitIP applies HandshakeRatePerIP (a token is taken) and checks
// MaxSessionsPerIP for a handshake from ip; it returns the refusal's cause
// or "". srv.mu is held.
func (srv *Server) admitIP(ip string, now time.Time) Refusal {
	o := srv.opts
	t := &srv.ips
	t.sweep(o, now)
	e := t.m[ip]
	if o.MaxSessionsPerIP > 0 && e != nil && e.sessions >= o.MaxSessionsPerIP {
		return RefusedTooManyIPSessions
	}
	if o.HandshakeRatePerIP <= 0 {
		return ""
	}
	burst := float64(o.HandshakeBurstPerIP)
	if e == nil {
		e = &ipEntry{tokens: burst, refilled: now}
		if t.m == nil {
			t.m = make(map[string]*ipEntry)
		}
		t.m[ip] = e
		if e.sessions == 0 {
			t.markIdle(ip, e, now) // removed in time should no session come
		}
	} else {
		e.tokens = min(burst, e.tokens+now.Sub(e.refilled).Seconds()*o.HandshakeRatePerIP)
		e.refilled = now
	}
	if e.tokens < 1 {
		return RefusedIPHandshakeRate
	}
	e.tokens--
	return ""
}

// addIPSession counts a new session of ip, unless ip is at
// MaxSessionsPerIP (false). srv.mu is held.
func (srv *Server) addIPSession(ip string) bool {
	o := srv.opts
	t := &srv.ips
	e := t.m[ip]
	if e == nil {
		e = &ipEntry{tokens: float64(o.HandshakeBurstPerIP), refilled: time.Now()}
		if t.m == nil {
			t.m = make(map[string]*ipEntry)
		}
		t.m[ip] = e
	}
	if o.MaxSessionsPerIP > 0 && e.sessions >= o.MaxSessionsPerIP {
		return false // (an entry with sessions: nothing to clean up)
	}
	e.sessions++
	e.idleGen = 0
	return true
}

// removeIPSession counts the end of a session of ip. srv.mu is held.
func (srv *Server) removeIPSession(ip string) {
	t := &srv.ips
	e := t.m[ip]
	if e == nil {
		return
	}
	if e.sessions--; e.sessions > 0 {
		return
	}
	o := srv.opts
	now := time.Now()
	if o.HandshakeRatePerIP <= 0 ||
		e.tokens+now.Sub(e.refilled).Seconds()*o.HandshakeRatePerIP >= float64(o.HandshakeBurstPerIP) {
		delete(t.m, ip) // nothing left to remember
		return
	}
	t.markIdle(ip, e, now)
}

func (t *ipTable) markIdle(ip string, e *ipEntry, now time.Time) {
	t.gen++
	e.idleGen = t.gen
	t.idle = append(t.idle, idleIP{ip, now, t.gen})
}

// sweep removes the entries idle for longer than a bucket takes to refill.
func (t *ipTable) sweep(o *options, now time.Time) {
	if len(t.idle) == 0 {
		return
	}
	refill := time.Duration(float64(o.HandshakeBurstPerIP) / o.HandshakeRatePerIP * float64(time.Second))
	i := 0
	for ; i < len(t.idle) && now.Sub(t.idle[i].since) >= refill; i++ {
		r := t.idle[i]
		if e := t.m[r.ip]; e != nil && e.idleGen == r.gen && e.sessions == 0 {
			delete(t.m, r.ip)
		}
		t.idle[i] = idleIP{}
	}
	t.idle = t.idle[i:]
	if len(t.idle) == 0 {
		t.idle = nil
	}
}
