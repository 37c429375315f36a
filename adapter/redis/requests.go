package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
)

// The cluster request/response bookkeeping, shared by every transport
// (classic and sharded pub/sub, streams): the requests waiting for one
// answer per other server, and the broadcasts waiting for acks.

type pendingKind int

const (
	kindFetch pendingKind = iota
	kindRooms
	kindSSE
)

// pending is a request waiting for the answers of the other servers.
type pending struct {
	kind     pendingKind
	expected int
	got      int
	sockets  []adapter.SocketInfo
	rooms    map[string]struct{}
	answers  []any
	done     chan struct{}
}

type ackRequest struct {
	onCount func(n int, ids []string)
	onAck   func(socketID string, args []any)
}

// requests is the registry of one namespace adapter's requests in flight.
// Its callbacks (answer's fn) run under its lock and must not call user code.
type requests struct {
	mu      sync.Mutex
	pending map[string]*pending
	acks    map[string]*ackRequest
	closed  bool
}

func newRequests() *requests {
	return &requests{pending: make(map[string]*pending), acks: make(map[string]*ackRequest)}
}

func (r *requests) register(id string, kind pendingKind, expected int) *pending {
	p := &pending{kind: kind, expected: expected, done: make(chan struct{})}
	r.mu.Lock()
	r.pending[id] = p
	r.mu.Unlock()
	return p
}

func (r *requests) unregister(id string) {
	r.mu.Lock()
	delete(r.pending, id)
	r.mu.Unlock()
}

func (r *requests) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// wait waits for p to complete, d to pass or ctx to end; ErrClosed when the
// registry was closed meanwhile.
func (r *requests) wait(ctx context.Context, id string, p *pending, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-p.done:
		if r.isClosed() {
			return adapter.ErrClosed
		}
		return nil
	case <-t.C:
		err = adapter.ErrTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.mu.Lock()
	if _, ok := r.pending[id]; !ok {
		// completed (or closed) meanwhile
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return adapter.ErrClosed
		}
		return nil
	}
	delete(r.pending, id)
	r.mu.Unlock()
	return err
}

// timeoutErr turns the error of wait into the error of op.
func (r *requests) timeoutErr(op string, p *pending, err error) error {
	if errors.Is(err, adapter.ErrTimeout) {
		r.mu.Lock()
		got := p.got
		r.mu.Unlock()
		return &adapter.TimeoutError{Op: op, Got: got, Expected: p.expected}
	}
	if errors.Is(err, adapter.ErrClosed) {
		return err
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// answer records one answer to request id; fn runs under the lock and
// reports whether the answer counts (it is of the request's kind).
func (r *requests) answer(id string, fn func(p *pending) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if !ok || !fn(p) {
		return
	}
	p.got++
	if p.got >= p.expected {
		delete(r.pending, id)
		close(p.done)
	}
}

// answers returns a copy of the answers of p.
func (r *requests) answers(p *pending) []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any{}, p.answers...)
}

// addAck registers the callbacks of broadcast id until d has passed or ctx
// ends.
func (r *requests) addAck(ctx context.Context, id string, d time.Duration, ar *ackRequest) {
	r.mu.Lock()
	r.acks[id] = ar
	r.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, d)
	context.AfterFunc(rctx, func() {
		cancel()
		r.mu.Lock()
		delete(r.acks, id)
		r.mu.Unlock()
	})
}

func (r *requests) ack(id string) *ackRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.acks[id]
}

// own reports whether id is one of this adapter's requests.
func (r *requests) own(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.pending[id]
	if !ok {
		_, ok = r.acks[id]
	}
	return ok
}

// close ends every request (their waits return ErrClosed) and forgets the acks.
func (r *requests) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, p := range r.pending {
		delete(r.pending, id)
		close(p.done)
	}
	clear(r.acks)
}
