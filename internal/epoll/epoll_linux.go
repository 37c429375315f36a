//go:build linux

package epoll

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"time"
)

// ET is syscall.EPOLLET as the unsigned value of an event mask.
const ET = 1 << 31

// wakeKey is the key of the wake pipe's registration; the keys of Add are
// other values.
const wakeKey = 0

// ErrClosed is returned by the calls on a closed Set.
var ErrClosed = errors.New("epoll: set closed")

// Set is an epoll set. Wait is for one goroutine at a time; Add, Del, Wake
// and Close for any.
type Set struct {
	fd   int
	file *os.File // keeps fd open and registered with the runtime's poller
	raw  syscall.RawConn
	wake [2]int // pipe; its read end is registered with wakeKey

	mu     sync.Mutex // guards closed against the writes to the wake pipe
	closed bool

	// Wait's state (one waiter at a time)
	events [128]syscall.EpollEvent
	n      int
	waitFn func(fd uintptr) bool
}

// New returns an empty set; name names its descriptor (for debugging).
func New(name string) (*Set, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	fail := func(err error) (*Set, error) {
		syscall.Close(fd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	setKey(&ev, wakeKey)
	if err := syscall.EpollCtl(fd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		return fail(err)
	}
	// The epoll descriptor is readable when the set has events: the runtime's
	// poller waits for it as for a socket.
	if err := syscall.SetNonblock(fd, true); err != nil {
		return fail(err)
	}
	f := os.NewFile(uintptr(fd), name)
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		syscall.Close(p[0])
		syscall.Close(p[1])
		return nil, err
	}
	s := &Set{fd: fd, file: f, raw: raw, wake: p}
	s.waitFn = func(fd uintptr) bool {
		n, err := syscall.EpollWait(int(fd), s.events[:], 0)
		if err != nil {
			n = 0 // EINTR
		}
		s.n = n
		return n > 0 // none: park until the descriptor is readable
	}
	return s, nil
}

func setKey(ev *syscall.EpollEvent, key uint64) {
	ev.Fd, ev.Pad = int32(uint32(key)), int32(uint32(key>>32))
}

func keyOf(ev *syscall.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// Add registers descriptor fd for events under key (not 0): Wait reports
// the key, never the descriptor, which may be reused once closed.
func (s *Set) Add(fd int, events uint32, key uint64) error {
	ev := syscall.EpollEvent{Events: events}
	setKey(&ev, key)
	return syscall.EpollCtl(s.fd, syscall.EPOLL_CTL_ADD, fd, &ev)
}

// Del removes descriptor fd (closing a descriptor also removes it).
func (s *Set) Del(fd int) {
	syscall.EpollCtl(s.fd, syscall.EPOLL_CTL_DEL, fd, nil)
}

// Wait waits until registrations are ready, Wake is called, or deadline
// (zero: none) passes, and appends the keys of the ready registrations to
// keys (none after a wake or at the deadline).
func (s *Set) Wait(deadline time.Time, keys []uint64) []uint64 {
	s.file.SetReadDeadline(deadline)
	s.n = 0
	if err := s.raw.Read(s.waitFn); err != nil {
		return keys // the deadline, or closed
	}
	for i := range s.events[:s.n] {
		k := keyOf(&s.events[i])
		if k == wakeKey {
			var b [64]byte
			syscall.Read(s.wake[0], b[:])
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// Wake makes the Wait in progress, or the next one, return.
func (s *Set) Wake() {
	s.mu.Lock()
	if !s.closed {
		syscall.Write(s.wake[1], []byte{0})
	}
	s.mu.Unlock()
}

// Close closes the set; a Wait in progress returns.
func (s *Set) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	syscall.Close(s.wake[0])
	syscall.Close(s.wake[1])
	s.mu.Unlock()
	s.file.Close()
}
