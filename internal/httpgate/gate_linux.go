//go:build linux

package httpgate

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/internal/epoll"
)

// gate is the Linux listener: an accepting goroutine, and a goroutine that
// waits on an epoll set of the connections held and reads them.
//
// A held connection belongs to the goroutine that accepted it until it is
// registered in the set, then to the polling goroutine alone; mu guards the
// set's map and the list of held connections, which both goroutines change.
type gate struct {
	ln     net.Listener
	opts   Options
	ready  chan net.Conn // handed over, to Accept
	errs   chan error    // ln.Accept's errors, to Accept
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	set *epoll.Set // of the held connections, keyed by descriptor + 1

	mu         sync.Mutex
	held       map[int]*held // by file descriptor
	head, tail *held         // in the order they were accepted (their deadlines')
}

// held is a connection whose headers are not complete yet.
type held struct {
	c          *net.TCPConn
	fd         int
	buf        []byte // what it sent so far
	deadline   time.Time
	prev, next *held
}

// Events of a held connection: readable or half closed, edge-triggered (one
// event per arrival of bytes, so the poller reads until the socket is empty).
const (
	heldEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epoll.ET
	scratchLen = 4 << 10 // each goroutine's read buffer
)

func newGate(ln net.Listener, opts Options) net.Listener {
	// The poller waits through the runtime's poller, so that a deadline on
	// the set can time the sweep.
	set, err := epoll.New("httpgate-epoll")
	if err != nil {
		return ln
	}
	g := &gate{
		ln: ln, opts: opts,
		ready: make(chan net.Conn), errs: make(chan error), closed: make(chan struct{}),
		set:  set,
		held: make(map[int]*held),
	}
	g.wg.Add(2)
	go g.acceptLoop()
	go g.pollLoop()
	return g
}

func (g *gate) Addr() net.Addr { return g.ln.Addr() }

func (g *gate) Accept() (net.Conn, error) {
	select {
	case c := <-g.ready:
		return c, nil
	case err := <-g.errs:
		return nil, err
	case <-g.closed:
		return nil, net.ErrClosed
	}
}

// Close closes the listener and every connection held, and returns once
// the gate's goroutines have ended.
func (g *gate) Close() error {
	err := net.ErrClosed
	g.once.Do(func() {
		close(g.closed)
		err = g.ln.Close()
		g.set.Wake()
		g.wg.Wait()
	})
	return err
}

func (g *gate) acceptLoop() {
	defer g.wg.Done()
	scratch := make([]byte, scratchLen)
	for {
		c, err := g.ln.Accept()
		if err != nil {
			// The http.Server decides: it waits and accepts again after a
			// temporary error, and stops at the others.
			select {
			case g.errs <- err:
			case <-g.closed:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		g.admit(c, scratch)
	}
}

// admit reads what c has sent already, hands it over if its headers are
// complete, and holds it otherwise.
func (g *gate) admit(c net.Conn, scratch []byte) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		g.handover(c)
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		g.handover(c)
		return
	}
	h := &held{c: tc, fd: -1}
	if raw.Control(func(fd uintptr) { h.fd = int(fd) }) != nil || h.fd < 0 {
		g.handover(c)
		return
	}
	switch g.read(h, scratch) {
	case readDone:
		g.handover(h.conn())
		return
	case readFailed:
		c.Close()
		return
	}
	if g.opts.Timeout > 0 {
		h.deadline = time.Now().Add(g.opts.Timeout)
	}
	g.mu.Lock()
	select {
	case <-g.closed:
		g.mu.Unlock()
		c.Close()
		return
	default:
	}
	first := g.head == nil
	g.held[h.fd] = h
	g.push(h)
	if err := g.set.Add(h.fd, heldEvents, uint64(h.fd)+1); err != nil {
		g.remove(h)
		g.mu.Unlock()
		g.handover(h.conn()) // served as without the gate
		return
	}
	if first && g.opts.Timeout > 0 {
		g.set.Wake() // the poller times its sweep again
	}
	g.mu.Unlock()
}

// The outcomes of read.
const (
	readMore   = iota // the socket is empty and the headers incomplete
	readDone          // to hand over
	readFailed        // closed by the peer, or an error: to close
)

// read reads what the socket holds into h.buf.
func (g *gate) read(h *held, scratch []byte) int {
	for {
		// The descriptor is read directly: nobody else reads or closes the
		// connection while the gate holds it.
		n, rerr := syscall.Read(h.fd, scratch)
		switch {
		case rerr == syscall.EAGAIN:
			return readMore
		case rerr == syscall.EINTR:
			continue
		case rerr != nil || n <= 0:
			return readFailed
		}
		from := len(h.buf)
		h.buf = append(h.buf, scratch[:n]...)
		if h.buf[0] == tlsRecord || len(h.buf) >= g.opts.MaxBytes || headersEnd(h.buf, from) {
			return readDone
		}
		if n < len(scratch) {
			return readMore // the socket is empty: its next bytes raise an event
		}
	}
}

// conn is h's connection to hand over.
func (h *held) conn() net.Conn {
	if len(h.buf) == 0 {
		return h.c
	}
	return &conn{TCPConn: h.c, pre: h.buf}
}

// handover gives c to Accept, or closes it once the gate is closed.
func (g *gate) handover(c net.Conn) {
	select {
	case g.ready <- c:
	case <-g.closed:
		c.Close()
	}
}

// push appends h to the list; mu is held.
func (g *gate) push(h *held) {
	h.prev = g.tail
	if g.tail != nil {
		g.tail.next = h
	} else {
		g.head = h
	}
	g.tail = h
}

// remove takes h out of the map and the list; mu is held.
func (g *gate) remove(h *held) {
	delete(g.held, h.fd)
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		g.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		g.tail = h.prev
	}
	h.prev, h.next = nil, nil
}

// release takes h out of the epoll set (before its descriptor can be closed
// and reused) and out of the map and the list.
func (g *gate) release(h *held) {
	g.mu.Lock()
	g.remove(h)
	g.set.Del(h.fd)
	g.mu.Unlock()
}

func (g *gate) pollLoop() {
	defer g.wg.Done()
	defer g.set.Close()
	var keys []uint64
	var ready []*held
	scratch := make([]byte, scratchLen)
	for {
		g.mu.Lock()
		var next time.Time
		if g.head != nil {
			next = g.head.deadline // zero without a timeout: no deadline
		}
		g.mu.Unlock()
		keys = g.set.Wait(next, keys[:0]) // none at the deadline: sweep
		select {
		case <-g.closed:
			g.closeHeld()
			return
		default:
		}
		g.mu.Lock()
		for _, k := range keys {
			if h := g.held[int(k-1)]; h != nil {
				ready = append(ready, h)
			}
		}
		g.mu.Unlock()
		for i, h := range ready {
			ready[i] = nil
			switch g.read(h, scratch) {
			case readDone:
				g.release(h)
				g.handover(h.conn())
			case readFailed:
				g.release(h)
				h.c.Close()
			}
		}
		ready = ready[:0]
		g.sweep()
	}
}

// sweep closes the connections past their deadline.
func (g *gate) sweep() {
	if g.opts.Timeout <= 0 {
		return
	}
	now := time.Now()
	for {
		g.mu.Lock()
		h := g.head
		if h == nil || h.deadline.After(now) {
			g.mu.Unlock()
			return
		}
		g.remove(h)
		g.set.Del(h.fd)
		g.mu.Unlock()
		h.c.Close()
	}
}

// closeHeld closes every connection held, at the gate's close.
func (g *gate) closeHeld() {
	g.mu.Lock()
	var all []*held
	for h := g.head; h != nil; h = h.next {
		all = append(all, h)
	}
	for _, h := range all {
		g.remove(h)
		g.set.Del(h.fd)
	}
	g.mu.Unlock()
	for _, h := range all {
		h.c.Close()
	}
}
