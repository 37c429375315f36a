//go:build linux

package epoll

import (
	"slices"
	"syscall"
	"testing"
	"time"
)

// TestSet: a registration's key is reported when its descriptor becomes
// readable, a Wake ends a Wait with no key, a deadline ends it, and Close
// ends a Wait in progress.
func TestSet(t *testing.T) {
	s, err := New("test")
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	if err := s.Add(p[0], syscall.EPOLLIN|ET, 42); err != nil {
		t.Fatal(err)
	}
	syscall.Write(p[1], []byte("x"))
	if keys := s.Wait(time.Time{}, nil); !slices.Equal(keys, []uint64{42}) {
		t.Fatalf("keys %v, want [42]", keys)
	}
	s.Wake()
	if keys := s.Wait(time.Time{}, nil); len(keys) != 0 {
		t.Fatalf("after Wake: keys %v", keys)
	}
	start := time.Now()
	if keys := s.Wait(time.Now().Add(50*time.Millisecond), nil); len(keys) != 0 || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("deadline: keys %v after %v", keys, time.Since(start))
	}
	s.Del(p[0])
	syscall.Write(p[1], []byte("y"))
	done := make(chan []uint64)
	go func() { done <- s.Wait(time.Time{}, nil) }()
	select {
	case keys := <-done:
		t.Fatalf("a removed descriptor woke the set: %v", keys)
	case <-time.After(50 * time.Millisecond):
	}
	s.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the Wait")
	}
	s.Wake() // after Close: dropped
}
