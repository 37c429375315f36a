//go:build linux

package engineio

import (
	"os"
	"sync"
	"syscall"
	"time"
)

// parkSupported: idle WebSocket connections in push mode wait in an epoll set
// instead of a goroutine each.
const parkSupported = true

// wsPark is a connection's registration with the poller.
type wsPark struct {
	token uint64 // its key in poller.conns; 0 when not registered (poller.mu)
	sess  *Session
	run   func() // Session.readReady; made once, so that a wake allocates nothing

	// The callbacks given to RawConn, made once, and their arguments and
	// results (used under rmu).
	readFn func(fd uintptr) bool
	armFn  func(fd uintptr)
	buf    []byte
	n      int
	err    error
	op     int
	armErr error
	waitFn func(fd uintptr) bool // awaitReadable's: false once (wait), then true
	waited bool

	// writeNonBlocking's callback (made on first use) and its argument and
	// results, used under the corkWriter's lock.
	writeFn func(fd uintptr) bool
	wbuf    []byte
	wn      int
	werr    error
}

// poller is the process's one epoll set of parked connections. Its goroutine
// runs while connections are registered: the last one to leave wakes it
// (through a pipe) so that it ends.
var poller struct {
	mu      sync.Mutex
	inited  bool
	err     error // of the set's creation, kept
	epfd    int
	epfile  *os.File // keeps epfd open and registered with the runtime's poller
	epraw   syscall.RawConn
	wake    [2]int // pipe; its read end is registered with token 0
	conns   map[uint64]*wsConn
	next    uint64
	running bool
}

const parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

func pollerInitLocked() error {
	if poller.inited {
		return poller.err
	}
	poller.inited = true
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		poller.err = err
		return err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		poller.err = err
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		poller.err = err
		return err
	}
	// The poller goroutine waits for the set through the runtime's poller
	// (an epoll fd is readable when it has events) instead of blocking in
	// EpollWait: a goroutine blocked in a system call keeps its P until sysmon
	// takes it back, up to milliseconds later on a quiet process, and with
	// GOMAXPROCS=1 the readers it just started would wait that long.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		poller.err = err
		return err
	}
	f := os.NewFile(uintptr(epfd), "engineio-epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		syscall.Close(p[0])
		syscall.Close(p[1])
		poller.err = err
		return err
	}
	poller.epfile, poller.epraw = f, raw
	poller.epfd, poller.wake = epfd, p
	poller.conns = make(map[uint64]*wsConn)
	return nil
}

// parkFor registers c, armed once: its first readable event runs
// s.readReady, which reads and re-arms it.
func (c *wsConn) parkFor(s *Session) error {
	srv := s.srv
	pk := &c.park
	pk.run = func() {
		defer srv.wg.Done()
		s.readReady(c)
	}
	pk.sess = s
	pk.readFn = func(fd uintptr) bool {
		pk.n, pk.err = syscall.Read(int(fd), pk.buf)
		return true // never wait: the poller does
	}
	pk.waitFn = func(uintptr) bool {
		if !pk.waited {
			pk.waited = true
			return false
		}
		return true
	}
	pk.armFn = func(fd uintptr) {
		poller.mu.Lock()
		token, epfd := pk.token, poller.epfd
		poller.mu.Unlock()
		if token == 0 {
			pk.armErr = errWSClosed // unparked meanwhile
			return
		}
		// The token, not the fd (which may be reused after a close), finds
		// the connection.
		ev := syscall.EpollEvent{Events: parkEvents, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
		pk.armErr = syscall.EpollCtl(epfd, pk.op, int(fd), &ev)
	}
	// Under rmu: the reader that the first event starts waits for the
	// registration to be complete.
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.arm(syscall.EPOLL_CTL_ADD)
}

// ready starts the parked reader on a new goroutine.
func (c *wsConn) ready() {
	srv := c.park.sess.srv
	srv.mu.Lock()
	if srv.closed {
		// Shutdown has closed every session and waits for our goroutines:
		// the peer's answer to a close frame, or its reset, ends the
		// connection here.
		srv.mu.Unlock()
		c.closeNow()
		return
	}
	srv.wg.Add(1)
	srv.mu.Unlock()
	go c.park.run()
}

// rearm arms a parked connection for its next readable event; rmu is held.
func (c *wsConn) rearm() error { return c.arm(syscall.EPOLL_CTL_MOD) }

// arm registers (ADD) or re-arms (MOD) c; rmu is held.
func (c *wsConn) arm(op int) error {
	poller.mu.Lock()
	if err := pollerInitLocked(); err != nil {
		poller.mu.Unlock()
		return err
	}
	if op == syscall.EPOLL_CTL_ADD {
		poller.next++
		c.park.token = poller.next
		poller.conns[c.park.token] = c
	}
	token := c.park.token
	if token == 0 {
		poller.mu.Unlock()
		return errWSClosed // unparked: closed meanwhile
	}
	if !poller.running {
		poller.running = true
		go pollLoop()
	}
	poller.mu.Unlock()
	c.park.op = op
	err := c.rc.Control(c.park.armFn)
	if err == nil {
		err = c.park.armErr
	}
	if err != nil {
		c.unpark()
	}
	return err
}

// unpark removes c from the poller; the last one wakes the poller to end.
func (c *wsConn) unpark() {
	if c.rc == nil {
		return
	}
	poller.mu.Lock()
	token := c.park.token
	if token == 0 {
		poller.mu.Unlock()
		return
	}
	c.park.token = 0
	delete(poller.conns, token)
	wake := len(poller.conns) == 0 && poller.running
	epfd := poller.epfd
	poller.mu.Unlock()
	c.rc.Control(func(fd uintptr) {
		syscall.EpollCtl(epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	if wake {
		syscall.Write(poller.wake[1], []byte{0})
	}
}

// pollLoop waits for parked connections to become readable and starts their
// readers; it ends when no connection is registered.
func pollLoop() {
	var events [128]syscall.EpollEvent
	var ready []*wsConn
	var n int
	wait := func(fd uintptr) bool {
		var err error
		n, err = syscall.EpollWait(int(fd), events[:], 0)
		if err != nil {
			n = 0 // EINTR
		}
		return n > 0 // none: park until the set's fd is readable
	}
	for {
		if err := poller.epraw.Read(wait); err != nil {
			n = 0
		}
		poller.mu.Lock()
		for _, ev := range events[:n] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == 0 {
				var b [64]byte
				syscall.Read(poller.wake[0], b[:])
				continue
			}
			if c := poller.conns[token]; c != nil {
				ready = append(ready, c)
			}
		}
		if len(poller.conns) == 0 {
			poller.running = false
			poller.mu.Unlock()
			return
		}
		poller.mu.Unlock()
		for i, c := range ready {
			c.ready()
			ready[i] = nil
		}
		ready = ready[:0]
	}
}

// writeNonBlocking writes what the socket takes of b at once. The caller
// holds the connection's corkWriter lock.
func (c *wsConn) writeNonBlocking(b []byte) (int, error) {
	pk := &c.park
	if pk.writeFn == nil {
		pk.writeFn = func(fd uintptr) bool {
			pk.wn, pk.werr = syscall.Write(int(fd), pk.wbuf)
			return true // never wait: the rest goes to the writer goroutine
		}
	}
	pk.wbuf = b
	err := c.rc.Write(pk.writeFn)
	n, werr := pk.wn, pk.werr
	pk.wbuf, pk.werr = nil, nil
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN || werr == syscall.EINTR {
		werr = nil
	}
	return n, werr
}

// awaitReadable waits at most d, with the runtime's poller, until the
// connection is readable (or closed); rmu is held.
func (c *wsConn) awaitReadable(d time.Duration) bool {
	c.conn.SetReadDeadline(time.Now().Add(d))
	c.park.waited = false
	err := c.rc.Read(c.park.waitFn)
	c.conn.SetReadDeadline(time.Time{})
	return err == nil && !c.isClosed()
}

// readAvailable is readMessage without blocking: it returns a whole data
// message, or wsNeedMore when the socket has no more bytes for now (the bytes
// of an incomplete frame stay buffered). rmu is held.
func (c *wsConn) readAvailable() (wsResult, bool, []byte, error) {
	for {
		res, binary, data, need, err := c.next()
		if err != nil {
			return 0, false, nil, c.fail(err)
		}
		if res == wsMessage {
			return res, binary, data, nil
		}
		if c.isClosed() {
			return 0, false, nil, errWSClosed
		}
		pk := &c.park
		pk.buf = c.space(need)
		err = c.rc.Read(pk.readFn)
		n, rerr := pk.n, pk.err
		pk.buf, pk.err = nil, nil
		if n < 0 {
			n = 0
		}
		c.filled(n)
		switch {
		case err != nil:
			c.closeNow()
			return 0, false, nil, errWSClosed
		case rerr == syscall.EAGAIN:
			return wsNeedMore, false, nil, nil
		case rerr == syscall.EINTR:
		case rerr != nil || n == 0:
			c.closeNow()
			return 0, false, nil, errWSClosed
		}
	}
}
