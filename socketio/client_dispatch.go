package socketio

import "sync"

// clientDispatcher runs a Manager's handlers one after another, in the order they
// were queued, on a goroutine of its own that exists only while there is work:
// an idle Manager holds no goroutine.
//
// Received events are queued with pushWait, which waits (backpressure on the read
// loop) while limit functions are already waiting; lifecycle events and ack
// results are queued with push, which never waits (they are few: at most one per
// connection change or per pending ack).
type clientDispatcher struct {
	mu      sync.Mutex
	q       []func()
	limit   int
	running bool
	space   chan struct{} // closed and replaced when the queue drops under limit
}

func newClientDispatcher(limit int) *clientDispatcher {
	return &clientDispatcher{limit: limit, space: make(chan struct{})}
}

// push queues fn without waiting.
func (d *clientDispatcher) push(fn func()) {
	d.mu.Lock()
	d.q = append(d.q, fn)
	d.startLocked()
	d.mu.Unlock()
}

// pushWait queues fn, waiting while the queue is full. It gives up (and returns
// false) when done is closed first.
func (d *clientDispatcher) pushWait(fn func(), done <-chan struct{}) bool {
	d.mu.Lock()
	for len(d.q) >= d.limit {
		space := d.space
		d.mu.Unlock()
		select {
		case <-space:
		case <-done:
			return false
		}
		d.mu.Lock()
	}
	d.q = append(d.q, fn)
	d.startLocked()
	d.mu.Unlock()
	return true
}

func (d *clientDispatcher) startLocked() {
	if !d.running {
		d.running = true
		go d.run()
	}
}

func (d *clientDispatcher) run() {
	for {
		d.mu.Lock()
		if len(d.q) == 0 {
			d.running = false
			d.q = nil
			d.mu.Unlock()
			return
		}
		fn := d.q[0]
		d.q[0] = nil
		d.q = d.q[1:]
		if len(d.q) == d.limit-1 {
			close(d.space)
			d.space = make(chan struct{})
		}
		d.mu.Unlock()
		fn()
	}
}

// idle reports whether no handler is running or waiting.
func (d *clientDispatcher) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.running
}
