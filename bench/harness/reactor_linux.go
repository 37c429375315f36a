//go:build linux

package harness

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// The load generator reads its websocket clients from one goroutine on an
// epoll set instead of a goroutine per connection: a delivery then costs it one
// read system call (a goroutine per connection costs a wake, a successful read,
// a read that finds nothing and a park), so that the load generator can take
// the deliveries of the fastest servers in the rooms and fanout scenarios.
var reactor struct {
	mu      sync.Mutex
	inited  bool
	err     error
	epfd    int
	epfile  *os.File // keeps epfd open and registered with the runtime's poller
	epraw   syscall.RawConn
	wake    [2]int // pipe; its read end is registered with fd -1's key
	conns   map[int]*client
	running bool
}

// reactorStart makes c's connection read by the reactor; early holds the bytes
// already read behind the handshake.
func reactorStart(c *client, early []byte) error {
	raw, err := c.ws.conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return err
	}
	c.rd = &wsReadState{raw: raw, buf: append([]byte(nil), early...)}
	raw.Control(func(fd uintptr) { c.rd.fd = int(fd) })
	rd := c.rd
	rd.readFn = func(fd uintptr) bool {
		rd.n, rd.err = syscall.Read(int(fd), reactorBuf[:])
		return true
	}
	reactor.mu.Lock()
	defer reactor.mu.Unlock()
	if !reactor.inited {
		reactor.inited = true
		reactor.err = reactorInitLocked()
	}
	if reactor.err != nil {
		return reactor.err
	}
	reactor.conns[rd.fd] = c
	var ctlErr error
	raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
		ctlErr = syscall.EpollCtl(reactor.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if ctlErr != nil {
		delete(reactor.conns, rd.fd)
		return ctlErr
	}
	if !reactor.running {
		reactor.running = true
		go reactorLoop()
	}
	if len(early) > 0 {
		// Bytes read with the handshake: parse them on the reactor's turn.
		c.rd.pending = true
		syscall.Write(reactor.wake[1], []byte{1})
	}
	return nil
}

func reactorInitLocked() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		syscall.Close(epfd)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: -1}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return err
	}
	// The reactor goroutine waits for the epoll set through the runtime's
	// poller (the set's fd is readable when it has events), not in a blocking
	// EpollWait: a goroutine blocked in a system call keeps the only P of the
	// load generator until sysmon takes it back, up to milliseconds later,
	// and the goroutines the reactor woke would wait that long.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		syscall.Close(p[0])
		syscall.Close(p[1])
		return err
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		syscall.Close(p[0])
		syscall.Close(p[1])
		return err
	}
	reactor.epfile, reactor.epraw = f, raw
	reactor.epfd, reactor.wake = epfd, p
	reactor.conns = make(map[int]*client)
	return nil
}

// reactorStop takes c out of the reactor and reports whether it was in it
// (then its caller ends the client). The last one out wakes the reactor so
// that its goroutine ends.
func reactorStop(c *client) bool {
	if c.rd == nil {
		return false
	}
	reactor.mu.Lock()
	if reactor.conns[c.rd.fd] != c {
		reactor.mu.Unlock()
		return false
	}
	delete(reactor.conns, c.rd.fd)
	c.rd.raw.Control(func(fd uintptr) {
		syscall.EpollCtl(reactor.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
	last := len(reactor.conns) == 0
	reactor.mu.Unlock()
	if last {
		syscall.Write(reactor.wake[1], []byte{0})
	}
	return true
}

// reactorBuf is the reactor goroutine's read buffer.
var reactorBuf [64 << 10]byte

func reactorLoop() {
	var events [256]syscall.EpollEvent
	var ready []*client
	var n int
	wait := func(fd uintptr) bool {
		var err error
		n, err = syscall.EpollWait(int(fd), events[:], 0)
		if err != nil {
			n = 0
		}
		return n > 0 // none: park until the set's fd is readable
	}
	for {
		if err := reactor.epraw.Read(wait); err != nil {
			n = 0
		}
		reactor.mu.Lock()
		woken := false
		for _, ev := range events[:n] {
			if ev.Fd == -1 {
				woken = true
				continue
			}
			if c := reactor.conns[int(ev.Fd)]; c != nil {
				ready = append(ready, c)
			}
		}
		if woken {
			var b [64]byte
			syscall.Read(reactor.wake[0], b[:])
			for _, c := range reactor.conns {
				if c.rd.pending {
					c.rd.pending = false
					ready = append(ready, c)
				}
			}
		}
		if len(reactor.conns) == 0 {
			reactor.running = false
			reactor.mu.Unlock()
			return
		}
		reactor.mu.Unlock()
		for i, c := range ready {
			c.readReady()
			ready[i] = nil
		}
		ready = ready[:0]
	}
}

// wsReadState is what the reactor keeps of a client's connection.
type wsReadState struct {
	raw     syscall.RawConn
	fd      int
	readFn  func(fd uintptr) bool
	n       int
	err     error
	buf     []byte // bytes of an incomplete frame
	frag    []byte // the fragments of a message so far
	fragOp  byte
	pending bool // early bytes wait (reactor.mu)
}

// readReady reads what the connection has (once: the epoll set is level
// triggered) and handles every whole frame.
func (c *client) readReady() {
	rd := c.rd
	if err := rd.raw.Read(rd.readFn); err != nil {
		c.endWS()
		return
	}
	switch {
	case rd.err == syscall.EAGAIN || rd.err == syscall.EINTR:
		if len(rd.buf) == 0 {
			return
		}
		rd.n = 0 // parse the early bytes
	case rd.err != nil || rd.n <= 0:
		c.endWS()
		return
	}
	data := reactorBuf[:rd.n]
	if len(rd.buf) > 0 {
		rd.buf = append(rd.buf, data...)
		data = rd.buf
	}
	for {
		fin, op, payload, used := parseServerFrame(data)
		if used == 0 {
			break
		}
		data = data[used:]
		if !c.frame(fin, op, payload) {
			c.endWS()
			return
		}
	}
	if len(data) == 0 {
		rd.buf = rd.buf[:0]
		if cap(rd.buf) > 64<<10 {
			rd.buf = nil
		}
		return
	}
	rd.buf = append(rd.buf[:0], data...) // data may be a suffix of rd.buf: append moves
}

// frame handles one frame; false ends the connection.
func (c *client) frame(fin bool, op byte, payload []byte) bool {
	rd := c.rd
	switch {
	case op == 0x8:
		return false
	case op == 0x9:
		return c.ws.write(0xA, payload) == nil
	case op == 0xA:
		return true
	case op == 0x0:
		rd.frag = append(rd.frag, payload...)
		if !fin {
			return true
		}
		op, payload = rd.fragOp, rd.frag
		rd.frag = rd.frag[:0]
	case !fin:
		rd.fragOp = op
		rd.frag = append(rd.frag[:0], payload...)
		return true
	}
	c.message(op, payload)
	return true
}

// endWS ends a client whose connection closed or failed.
func (c *client) endWS() {
	if reactorStop(c) {
		c.ws.close()
		close(c.done)
	}
}

const reactorSupported = true
