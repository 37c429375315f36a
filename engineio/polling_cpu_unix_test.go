//go:build unix

package engineio

import "syscall"

// processCPU returns the CPU time (user and system) the process has used, in
// nanoseconds: on a shared machine, CPU per op varies less than time per op.
// It includes the benchmark's client, which does the same work before and
// after a change of the server.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
