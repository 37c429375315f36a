//go:build !unix

package engineio

// processCPU is not measured on this system (the cpu-ns metrics read 0).
func processCPU() int64 { return 0 }
