//go:build linux

package ws

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corvid-io/corvid/internal/epoll"
)

// parkSupported: WebSocket connections in push mode are read by the poller
// goroutines (an epoll set each) instead of a goroutine per connection.
const parkSupported = true

// wsPark is a connection's registration with its poller. Its fields are
// ordered and sized so that an idle connection's ownConn stays in a small
// allocation class: syscall results are kept as an int32 count and an Errno.
type wsPark struct {
	set   *pollSet
	token uint64 // its key in set.conns; 0 when not registered (set.mu)

	// pending: the connection has been readable since it was last read.
	// Whoever holds rmu reads it before letting go (readPending).
	pending atomic.Bool
	// drained: the last read returned fewer bytes than it asked for, so the
	// socket held no more. With an edge-triggered registration the next bytes
	// raise a new event: the reader stops there instead of paying a read that
	// fails with EAGAIN. Used under rmu.
	drained bool
	// failed: the read error that readAvailable left to a goroutine that may
	// wait on the peer (rmu).
	failed error

	// The callbacks given to RawConn, made once, and their arguments and
	// results: readFn's under rmu, writeFn's (made on first use, for
	// writeNonBlocking) under the corkWriter's lock.
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
	buf     []byte
	wbuf    []byte
	n, wn   int32
	errno   syscall.Errno
	werrno  syscall.Errno
}

// sysResult keeps a read or write system call's results as wsPark does.
func sysResult(n int, err error) (int32, syscall.Errno) {
	errno, _ := err.(syscall.Errno) // a raw system call fails with an Errno
	if n < 0 {
		n = 0
	}
	return int32(n), errno
}

// pollSet is an epoll set of parked connections and the goroutine that reads
// them: when a connection becomes readable, that goroutine reads it and hands
// its messages to the session, in the order the kernel reported them. The
// goroutine runs while connections are registered: the last one to leave
// wakes it (through a pipe) so that it ends.
type pollSet struct {
	mu      sync.Mutex
	set     *epoll.Set
	conns   map[uint64]*ownConn
	next    uint64
	running bool

	// round guards reading (the goroutine is reading connections) and
	// rounds (the rounds of reading it finished), for Quiesce.
	round     sync.Mutex
	roundDone *sync.Cond // on round: a round finished
	reading   bool
	rounds    uint64
}

// pollers are the process's poll sets, one per P when first needed, so that
// the reading of connections spreads over the cores.
var pollers struct {
	mu     sync.Mutex
	inited bool
	sets   []*pollSet
	err    error  // of the sets' creation, kept
	rr     uint32 // the next set, round robin
}

// parkEvents: readable, or the peer's half close, edge-triggered (a new event
// for new bytes only), so that a busy connection costs no epoll_ctl.
const parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | epoll.ET

// pickPollSet returns the set of a new connection, making the sets on first use.
func pickPollSet() (*pollSet, error) {
	pollers.mu.Lock()
	defer pollers.mu.Unlock()
	if !pollers.inited {
		pollers.inited = true
		initPollersLocked()
	}
	if pollers.err != nil {
		return nil, pollers.err
	}
	pollers.rr++
	return pollers.sets[int(pollers.rr%uint32(len(pollers.sets)))], nil
}

func initPollersLocked() {
	n := runtime.GOMAXPROCS(0)
	for range n {
		ps, err := newPollSet()
		if err != nil {
			for _, ps := range pollers.sets {
				ps.set.Close()
			}
			pollers.sets, pollers.err = nil, err
			return
		}
		pollers.sets = append(pollers.sets, ps)
	}
}

func newPollSet() (*pollSet, error) {
	set, err := epoll.New("engineio-epoll")
	if err != nil {
		return nil, err
	}
	ps := &pollSet{set: set, conns: make(map[uint64]*ownConn)}
	ps.roundDone = sync.NewCond(&ps.round)
	return ps, nil
}

// startParked registers c with a poller. Messages are then read and delivered by
// that poller's goroutine.
func (c *ownConn) startParked() error {
	ps, err := pickPollSet()
	if err != nil {
		return err
	}
	pk := &c.park
	// Under mu: a CloseNow meanwhile (the session may close before its
	// reading starts) reads set to leave the poller.
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	pk.set = ps
	c.mu.Unlock()
	pk.readFn = func(fd uintptr) bool {
		pk.n, pk.errno = sysResult(syscall.Read(int(fd), pk.buf))
		return true // never wait: the poller does
	}
	// Under rmu: an event that comes before the registration is complete
	// marks the connection pending, and it is read below.
	c.rmu.Lock()
	c.deferBlocking = true
	err = c.register()
	if err != nil {
		c.deferBlocking = false // read by a goroutine of its own after all
	} else if c.rb != nil {
		// Bytes that came with the handshake or behind the upgrade packet.
		pk.pending.Store(true)
	}
	c.rmu.Unlock()
	if err == nil {
		c.readPending()
	}
	return err
}

// register adds c to its poll set; rmu is held.
func (c *ownConn) register() error {
	ps := c.park.set
	ps.mu.Lock()
	ps.next++
	token := ps.next
	c.park.token = token
	ps.conns[token] = c
	if !ps.running {
		ps.running = true
		go ps.loop()
	}
	ps.mu.Unlock()
	if c.isClosed() {
		// Closed meanwhile: its CloseNow may have left the poller before
		// the token was set.
		c.unpark()
		return ErrClosed
	}
	// The token, not the fd (which may be reused after a close), finds the
	// connection. A close meanwhile makes Control fail, or leaves an entry
	// that no longer finds the connection and that the close of the fd
	// removes.
	var armErr error
	err := c.rc.Control(func(fd uintptr) {
		armErr = ps.set.Add(int(fd), parkEvents, token)
	})
	if err == nil {
		err = armErr
	}
	if err != nil {
		c.unpark()
	}
	return err
}

// readPending reads c if it is pending and nobody else holds rmu; a goroutine
// that holds it reads it when it lets go (this is called there too).
func (c *ownConn) readPending() {
	pk := &c.park
	for pk.pending.Load() && c.flow.running() && c.rmu.TryLock() {
		if pk.pending.Swap(false) && c.readParked() {
			return // rmu went with the work that may wait
		}
		c.rmu.Unlock()
	}
}

// kick reads c, as if the poller had seen it readable, unless another
// goroutine holds rmu (that one then reads it).
func (c *ownConn) kick() {
	c.park.pending.Store(true)
	c.readPending()
}

// readParked reads what a parked connection holds and delivers its messages.
// It stops when the socket is empty, the handler has no room (until Resume)
// or the connection ends; the bytes of an incomplete frame stay buffered.
// What may wait on the peer (answering a ping or a close frame, failing the
// connection) is handed, with rmu, to a goroutine of its own: then it
// returns true and rmu is no longer the caller's. rmu is held.
func (c *ownConn) readParked() (handedOff bool) {
	c.park.drained = false
	for c.flow.running() {
		res, binary, data, err := c.readAvailable()
		switch {
		case err != nil:
			c.end(err)
			return false
		case res == wsNeedMore:
			return false
		case res == wsBlocking:
			if c.opts.Spawn(c.readBlocking) {
				return true
			}
			c.park.failed = nil
			c.CloseNow() // shut down: nobody waits on the peer
			c.end(ErrClosed)
			return false
		}
		if !c.h.Message(binary, data) && c.flow.stop() {
			return false
		}
	}
	return false
}

// readBlocking goes on with readParked's work where it stopped, on a
// goroutine that may wait on the peer; it owns rmu and lets it go.
func (c *ownConn) readBlocking() {
	c.deferBlocking = false
	if err := c.park.failed; err != nil {
		c.park.failed = nil
		c.end(c.fail(err))
	} else {
		c.readParked()
	}
	c.deferBlocking = true
	c.rmu.Unlock()
	c.readPending()
}

// unpark removes c from its poller; the last one wakes the poller to end.
func (c *ownConn) unpark() {
	c.mu.Lock()
	ps := c.park.set
	c.mu.Unlock()
	if c.rc == nil || ps == nil {
		return
	}
	ps.mu.Lock()
	token := c.park.token
	if token == 0 {
		ps.mu.Unlock()
		return
	}
	c.park.token = 0
	delete(ps.conns, token)
	wake := len(ps.conns) == 0 && ps.running
	ps.mu.Unlock()
	c.rc.Control(func(fd uintptr) { ps.set.Del(int(fd)) })
	if wake {
		ps.set.Wake()
	}
}

// loop waits for parked connections to become readable and reads them; it
// ends when no connection is registered.
func (ps *pollSet) loop() {
	var keys []uint64
	var ready []*ownConn
	for {
		keys = ps.set.Wait(time.Time{}, keys[:0])
		ps.mu.Lock()
		for _, token := range keys {
			if c := ps.conns[token]; c != nil {
				ready = append(ready, c)
			}
		}
		if len(ps.conns) == 0 {
			ps.running = false
			ps.mu.Unlock()
			return
		}
		ps.mu.Unlock()
		ps.round.Lock()
		ps.reading = true
		ps.round.Unlock()
		for i, c := range ready {
			c.kick()
			ready[i] = nil
		}
		ps.round.Lock()
		ps.reading = false
		ps.rounds++
		ps.roundDone.Broadcast()
		ps.round.Unlock()
		ready = ready[:0]
	}
}

// writeNonBlocking writes what the socket takes of b at once. The caller
// holds the connection's corkWriter lock.
func (c *ownConn) writeNonBlocking(b []byte) (int, error) {
	pk := &c.park
	if pk.writeFn == nil {
		pk.writeFn = func(fd uintptr) bool {
			pk.wn, pk.werrno = sysResult(syscall.Write(int(fd), pk.wbuf))
			return true // never wait: the rest goes to the writer goroutine
		}
	}
	pk.wbuf = b
	err := c.rc.Write(pk.writeFn)
	n, werrno := int(pk.wn), pk.werrno
	pk.wbuf, pk.werrno = nil, 0
	if err != nil {
		return 0, err
	}
	if werrno == 0 || werrno == syscall.EAGAIN || werrno == syscall.EINTR {
		return n, nil
	}
	return n, werrno
}

// readAvailable is readMessage without blocking: it returns a whole data
// message, or wsNeedMore when the socket has no more bytes for now (the bytes
// of an incomplete frame stay buffered). rmu is held.
func (c *ownConn) readAvailable() (wsResult, bool, []byte, error) {
	pk := &c.park
	if c.failed {
		return 0, false, nil, ErrClosed
	}
	for {
		res, binary, data, need, err := c.next()
		if err != nil {
			if c.deferBlocking {
				pk.failed = err
				return wsBlocking, false, nil, nil
			}
			return 0, false, nil, c.fail(err)
		}
		if res != wsNeedMore {
			return res, binary, data, nil
		}
		if c.isClosed() {
			return 0, false, nil, ErrClosed
		}
		if pk.drained {
			return wsNeedMore, false, nil, nil
		}
		pk.buf = c.space(need)
		err = c.rc.Read(pk.readFn)
		n, rerr, asked := int(pk.n), pk.errno, len(pk.buf)
		pk.buf, pk.errno = nil, 0
		c.filled(n)
		switch {
		case err != nil:
			c.CloseNow()
			return 0, false, nil, ErrClosed
		case rerr == syscall.EAGAIN:
			return wsNeedMore, false, nil, nil
		case rerr == syscall.EINTR:
		case rerr != 0 || n == 0:
			c.CloseNow()
			return 0, false, nil, ErrClosed
		case n < asked:
			pk.drained = true
		}
	}
}

// Quiesce returns once every poller that was reading connections when it
// was called has finished that round: a server that has closed its sessions
// and waited for its goroutines then knows that no message of theirs is
// still being delivered.
func Quiesce() {
	pollers.mu.Lock()
	sets := pollers.sets
	pollers.mu.Unlock()
	for _, ps := range sets {
		ps.round.Lock()
		for r := ps.rounds; ps.reading && ps.rounds == r; {
			ps.roundDone.Wait()
		}
		ps.round.Unlock()
	}
}
