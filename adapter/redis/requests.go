package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
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
	err      error // a server refused to answer (*ReplyTooLargeError)
	done     chan struct{}
}

// ErrReplyTooLarge is wrapped by the error of a request that another server
// refused to answer because its answer was over its Options.MaxReplySize.
var ErrReplyTooLarge = errors.New("redis: answer too large")

// ReplyTooLargeError reports a request (Op: "fetchSockets", "allRooms",
// "serverSideEmit") that another server (Server: its uid) refused to answer:
// its answer was Size bytes, over its limit Limit (its Options.MaxReplySize).
// The request fails as soon as the refusal arrives. errors.Is(err,
// ErrReplyTooLarge) holds for it.
type ReplyTooLargeError struct {
	Op     string
	Server string
	Size   int
	Limit  int
}

func (e *ReplyTooLargeError) Error() string {
	return fmt.Sprintf("redis: %s: server %s refused its answer of %d bytes (its limit is %d)", e.Op, e.Server, e.Size, e.Limit)
}

// Unwrap returns ErrReplyTooLarge.
func (e *ReplyTooLargeError) Unwrap() error { return ErrReplyTooLarge }

// opName is the name of a request of kind k in errors.
func opName(k pendingKind) string {
	switch k {
	case kindFetch:
		return "fetchSockets"
	case kindRooms:
		return "allRooms"
	}
	return "serverSideEmit"
}

// refused records, when t is not nil, that a server refused to answer p
// (under the registry's lock, from answer's fn): p then completes at once
// with a *ReplyTooLargeError.
func refused(p *pending, t *wire.TooLarge) bool {
	if t == nil {
		return false
	}
	if p.err == nil {
		p.err = &ReplyTooLargeError{Op: opName(p.kind), Server: t.UID, Size: int(t.Size), Limit: int(t.Limit)}
	}
	return true
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
// registry was closed meanwhile, p's *ReplyTooLargeError when a server
// refused to answer.
func (r *requests) wait(ctx context.Context, id string, p *pending, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-p.done:
		if r.isClosed() {
			return adapter.ErrClosed
		}
		return p.err
	case <-t.C:
		err = adapter.ErrTimeout
	case <-ctx.Done():
		err = ctx.Err()
	}
	r.mu.Lock()
	if _, ok := r.pending[id]; !ok {
		// completed (or closed) meanwhile
		closed, perr := r.closed, p.err
		r.mu.Unlock()
		if closed {
			return adapter.ErrClosed
		}
		return perr
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
	if errors.Is(err, adapter.ErrClosed) || errors.Is(err, ErrReplyTooLarge) {
		return err
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// answer records one answer to request id; fn runs under the lock and
// reports whether the answer counts (it is of the request's kind). A refusal
// (refused, p.err set) completes the request at once.
func (r *requests) answer(id string, fn func(p *pending) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.pending[id]
	if !ok || !fn(p) {
		return
	}
	p.got++
	if p.got >= p.expected || p.err != nil {
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
