package socketio

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
)

// DefaultBroadcastAckTimeout bounds BroadcastOperator.EmitWithAck when neither
// ctx nor Timeout sets a deadline.
const DefaultBroadcastAckTimeout = 5 * time.Second

// BroadcastOperator selects sockets (rooms, except) and sets flags for one
// multi-socket operation. It is an immutable value: each method returns a new
// operator and leaves its receiver unchanged, so operators can be kept and
// shared between goroutines. Every operation goes through the namespace's
// adapter, so it spans the cluster unless Local is set.
type BroadcastOperator struct {
	targets []*Namespace // one, or the children of a dynamic namespace
	rooms   []string
	except  []string
	flags   adapter.Flags
}

// To adds rooms to the targeted rooms (the union is targeted).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = slices.Concat(b.rooms, rooms)
	return b
}

// In is To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except skips the sockets in any of rooms (socket ids are rooms too).
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = slices.Concat(b.except, rooms)
	return b
}

// Volatile marks the packets as droppable: a socket whose send queue is full
// does not get them (it is not disconnected, as it would be for a regular
// packet).
func (b BroadcastOperator) Volatile() BroadcastOperator {
	b.flags.Volatile = true
	return b
}

// Compress sets whether the packets may be compressed (default true).
func (b BroadcastOperator) Compress(on bool) BroadcastOperator {
	b.flags.NoCompress = !on
	return b
}

// Local restricts the operation to this server's sockets.
func (b BroadcastOperator) Local() BroadcastOperator {
	b.flags.Local = true
	return b
}

// Timeout bounds how long EmitWithAck waits for answers (ctx may end it sooner).
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator {
	b.flags.Timeout = d
	return b
}

func (b BroadcastOperator) opts() *adapter.BroadcastOptions {
	return &adapter.BroadcastOptions{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to every targeted socket. The packet is encoded once
// (per namespace) and the same bytes are queued on every target.
func (b BroadcastOperator) Emit(event string, args ...any) error {
	var errs []error
	for _, n := range b.targets {
		b.notifyOutgoing(n, event, args)
		p := &parser.Packet{Type: parser.Event, Namespace: n.name, Event: event, Args: args}
		if err := n.broadcast(context.Background(), p, b.opts()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// notifyOutgoing calls the OnAnyOutgoing handlers of the local targets. It
// costs nothing while no socket of n has such handlers.
func (b BroadcastOperator) notifyOutgoing(n *Namespace, event string, args []any) {
	if n.outWatchers.Load() == 0 {
		return
	}
	ids, err := n.adapter.Sockets(context.Background(), b.rooms)
	if err != nil {
		return
	}
	for _, id := range ids {
		s := n.Socket(id)
		if s == nil {
			continue
		}
		hs := s.anyOutHandlers()
		if len(hs) == 0 || (len(b.except) > 0 && slices.ContainsFunc(s.Rooms(), func(r string) bool {
			return slices.Contains(b.except, r)
		})) {
			continue
		}
		for _, h := range hs {
			h(s, event, args)
		}
	}
}

// AckResponse is one socket's answer to a broadcast with acknowledgement.
type AckResponse struct {
	// SocketID is the answering socket; "" when it is on another server.
	SocketID string
	Args     Args
}

// BroadcastAcks is the result of BroadcastOperator.EmitWithAck.
type BroadcastAcks struct {
	Responses []AckResponse
	// Missing lists the local sockets that did not answer in time.
	Missing []string
	// Expected is the number of sockets the packet was sent to.
	Expected int
}

// EmitWithAck sends an event to every targeted socket and collects the answers
// until all arrived, ctx ends, or Timeout passes (DefaultBroadcastAckTimeout
// when neither ctx nor Timeout gives a deadline). When some are missing it returns the partial
// result and ErrAckTimeout (ctx's error when ctx was cancelled).
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) (*BroadcastAcks, error) {
	if d := b.flags.Timeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	} else if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultBroadcastAckTimeout)
		defer cancel()
	}
	if dl, ok := ctx.Deadline(); ok {
		b.flags.Timeout = time.Until(dl) // for the other servers of a cluster
	}
	var (
		mu       sync.Mutex
		res      = &BroadcastAcks{}
		servers  int
		reported int
		answered = map[string]bool{}
		targets  []string
		wake     = make(chan struct{}, 1)
	)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	onCount := func(n int, ids []string) {
		mu.Lock()
		reported++
		res.Expected += n
		targets = append(targets, ids...)
		mu.Unlock()
		notify()
	}
	onAck := func(id string, a []any) {
		mu.Lock()
		res.Responses = append(res.Responses, AckResponse{SocketID: id, Args: Args(a)})
		if id != "" {
			answered[id] = true
		}
		mu.Unlock()
		notify()
	}
	for _, n := range b.targets {
		c, err := n.adapter.ServerCount(ctx)
		if err != nil {
			return nil, err
		}
		servers += c
		b.notifyOutgoing(n, event, args)
		p := &parser.Packet{Type: parser.Event, Namespace: n.name, Event: event, Args: args}
		if err := n.observeAdapter("broadcastWithAck", n.adapter.BroadcastWithAck(ctx, p, b.opts(), onCount, onAck)); err != nil {
			return nil, err
		}
	}
	for {
		mu.Lock()
		done := reported >= servers && len(res.Responses) >= res.Expected
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-wake:
			continue
		case <-ctx.Done():
		}
		break
	}
	mu.Lock()
	defer mu.Unlock()
	out := &BroadcastAcks{Responses: slices.Clone(res.Responses), Expected: res.Expected}
	for _, id := range targets {
		if !answered[id] {
			out.Missing = append(out.Missing, id)
		}
	}
	if reported < servers || len(out.Responses) < out.Expected {
		if errors.Is(ctx.Err(), context.Canceled) {
			return out, ctx.Err()
		}
		for _, n := range b.targets {
			n.observeAckTimeout()
		}
		return out, ErrAckTimeout
	}
	return out, nil
}

// FetchSockets returns the targeted sockets of the whole cluster (of this
// server with Local).
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	var out []*RemoteSocket
	for _, n := range b.targets {
		infos, err := n.adapter.FetchSockets(ctx, b.opts())
		if err != nil {
			return out, err
		}
		for _, in := range infos {
			out = append(out, &RemoteSocket{SocketInfo: in, nsp: n})
		}
	}
	return out, nil
}

// SocketsJoin makes the targeted sockets join rooms.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	var errs []error
	for _, n := range b.targets {
		errs = append(errs, n.adapter.AddSockets(ctx, b.opts(), rooms))
	}
	return errors.Join(errs...)
}

// SocketsLeave makes the targeted sockets leave rooms.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	var errs []error
	for _, n := range b.targets {
		errs = append(errs, n.adapter.DelSockets(ctx, b.opts(), rooms))
	}
	return errors.Join(errs...)
}

// DisconnectSockets disconnects the targeted sockets, closing their Engine.IO
// connections when close is true.
func (b BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	var errs []error
	for _, n := range b.targets {
		errs = append(errs, n.adapter.DisconnectSockets(ctx, b.opts(), close))
	}
	return errors.Join(errs...)
}

// RemoteSocket is a socket returned by FetchSockets: its details, and
// operations that reach it through the adapter wherever it is connected.
type RemoteSocket struct {
	adapter.SocketInfo
	nsp *Namespace
}

func (r *RemoteSocket) op() BroadcastOperator {
	return BroadcastOperator{targets: []*Namespace{r.nsp}, rooms: []string{r.ID}}
}

// Emit sends an event to the socket.
func (r *RemoteSocket) Emit(event string, args ...any) error { return r.op().Emit(event, args...) }

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.op().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.op().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket.
func (r *RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.op().DisconnectSockets(ctx, close)
}

// socket-level operators: the socket itself is excluded.

func (s *Socket) op() BroadcastOperator {
	return BroadcastOperator{targets: []*Namespace{s.nsp}, except: []string{s.id}}
}

// Broadcast returns an operator targeting every socket of the namespace but s.
func (s *Socket) Broadcast() BroadcastOperator { return s.op() }

// To returns an operator targeting rooms, s excluded.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.op().To(rooms...) }

// In is To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except returns an operator targeting every socket but s and those in rooms.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.op().Except(rooms...) }
