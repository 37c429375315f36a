//go:build !unix

package testutil

// ProcessCPU is not measured on this system: it returns 0 (cpu-ns metrics
// read 0).
func ProcessCPU() int64 { return 0 }
