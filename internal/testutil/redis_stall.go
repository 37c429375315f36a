//go:build unix

package testutil

import "syscall"

// Stall freezes the redis-server process (SIGSTOP): its connections stay
// open, nothing is answered. The returned func resumes it (SIGCONT) and is
// idempotent; Stop and Start work on a stalled server too.
func (r *RedisServer) Stall() (resume func()) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		r.t.Fatal("testutil: Stall of a stopped redis-server")
	}
	p := r.cmd.Process
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		r.t.Fatalf("testutil: SIGSTOP redis-server: %v", err)
	}
	done := false
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if done {
			return
		}
		done = true
		_ = p.Signal(syscall.SIGCONT) // fails only when it was killed meanwhile
	}
}
