//go:build unix

package testutil

import "syscall"

// ProcessCPU returns the CPU time (user and system) the process has used, in
// nanoseconds: on a shared machine a benchmark's CPU per op varies less than
// its time per op. It includes the benchmark's own clients.
func ProcessCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
