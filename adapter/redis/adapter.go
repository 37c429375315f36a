package redis

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/parser"
	"github.com/redis/rueidis"
)

// Adapter is the Redis adapter of one namespace. It keeps the rooms of the
// local sockets in an adapter.Memory and exchanges the cluster operations with
// the other servers through Redis, in the protocol of Options.Mode.
type Adapter struct {
	c       *Client
	ns      adapter.Namespace
	mem     *adapter.Memory
	nsp     string
	uid     string
	key     string
	sharded bool
	opts    *Options

	// classic channels
	channel, reqChannel, respChannel, specChannel string
	// sharded: channel is the main channel, specChannel the response channel

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan inbound
	out    *outbox     // answers to other servers' requests
	sse    chan func() // server-side emit dispatches, off the worker

	// busy counts the adapter goroutines running namespace code (which may
	// call Close, e.g. when the last socket of a child namespace leaves).
	busy atomic.Int32

	readyN    atomic.Int32
	readyWant int32
	ready     chan struct{}
	readyOnce sync.Once

	reqs *requests    // the requests in flight
	cn   *clusterNode // sharded: the cluster protocol

	mu     sync.Mutex
	closed bool

	syncMu sync.Mutex      // serializes dynamic room subscription changes
	rsub   *roomSubscriber // sharded dynamic modes: the room channels
}

var _ adapter.Adapter = (*Adapter)(nil)

type inbound struct {
	channel string
	msg     string
}

func newAdapter(c *Client, ns adapter.Namespace) (*Adapter, error) {
	m, err := adapter.NewMemory(ns)
	if err != nil {
		return nil, err
	}
	mem, ok := m.(*adapter.Memory)
	if !ok {
		return nil, errors.New("redis: adapter.NewMemory returned an unexpected type")
	}
	nsp := ns.Name()
	a := &Adapter{
		c: c, ns: ns, mem: mem, nsp: nsp, uid: c.opts.UID, key: c.opts.Key,
		sharded: c.opts.Mode == Sharded, opts: &c.opts,
		queue: make(chan inbound, c.opts.QueueSize),
		sse:   make(chan func(), c.opts.QueueSize),
		ready: make(chan struct{}),
		reqs:  newRequests(),
	}
	a.ctx, a.cancel = context.WithCancel(c.ctx)
	a.out = newOutbox(c.mon, nsp, c.opts.QueueSize, c.opts.MaxReplySize, c.opts.RequestsTimeout, c.rc,
		func(m outMsg) rueidis.Completed { return c.publishCmd(m.channel, m.payload) })
	if a.dynamic() {
		a.rsub = newRoomSubscriber(a)
	}
	if a.sharded {
		a.cn = &clusterNode{uid: a.uid, nsp: nsp, mem: mem, ctx: a.ctx, timeout: c.opts.RequestsTimeout, reqs: a.reqs,
			reply: a.respondTo, replyLater: a.respondTo, serverSideEmit: a.serverSideEmit, rooms: a.applyRooms}
	}
	if a.sharded {
		a.channel = shardedChannel(a.key, nsp)
		a.specChannel = shardedSubChannel(a.key, nsp, a.uid)
	} else {
		a.channel = classicChannel(a.key, nsp)
		a.reqChannel = requestChannel(a.key, nsp)
		a.respChannel = responseChannel(a.key, nsp)
		a.specChannel = specificResponseChannel(a.key, nsp, a.uid)
	}
	return a, nil
}

// start subscribes and starts the worker, then waits (bounded) for the
// subscriptions to be confirmed.
func (a *Adapter) start() {
	a.wg.Add(3)
	go a.worker()
	go func() {
		defer a.wg.Done()
		a.out.run(a.ctx)
	}()
	go a.dispatcher()
	if a.rsub != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.rsub.run(a.ctx)
		}()
	}
	if a.sharded {
		a.readyWant = 2
		main, resp := a.channel, a.specChannel
		a.goReceive(a.ctx, subscription{
			build: func(b rueidis.Builder) rueidis.Completed { return b.Ssubscribe().Channel(main).Build() },
			unsub: func(b rueidis.Builder) rueidis.Completed { return b.Sunsubscribe().Channel(main).Build() },
			n:     1, name: main,
		}, a.markReady)
		a.goReceive(a.ctx, subscription{
			build: func(b rueidis.Builder) rueidis.Completed { return b.Ssubscribe().Channel(resp).Build() },
			unsub: func(b rueidis.Builder) rueidis.Completed { return b.Sunsubscribe().Channel(resp).Build() },
			n:     1, name: resp,
		}, a.markReady)
	} else {
		a.readyWant = 4
		pattern := classicPattern(a.key, a.nsp)
		chans := []string{a.reqChannel, a.respChannel, a.specChannel}
		a.goReceive(a.ctx, subscription{
			build: func(b rueidis.Builder) rueidis.Completed { return b.Psubscribe().Pattern(pattern).Build() },
			unsub: func(b rueidis.Builder) rueidis.Completed { return b.Punsubscribe().Pattern(pattern).Build() },
			n:     1, name: pattern,
		}, a.markReady)
		a.goReceive(a.ctx, subscription{
			build: func(b rueidis.Builder) rueidis.Completed { return b.Subscribe().Channel(chans...).Build() },
			unsub: func(b rueidis.Builder) rueidis.Completed { return b.Unsubscribe().Channel(chans...).Build() },
			n:     len(chans), name: a.reqChannel,
		}, a.markReady)
	}
	waitFor(a.ctx, a.ready, a.opts.RequestsTimeout)
}

// waitFor waits until done is closed, d has passed or ctx ends, and reports
// whether done was closed.
func waitFor(ctx context.Context, done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (a *Adapter) markReady() {
	if a.readyN.Add(1) >= a.readyWant {
		a.readyOnce.Do(func() { close(a.ready) })
	}
}

// goReceive runs a subscription whose messages go to the namespace's queue.
func (a *Adapter) goReceive(ctx context.Context, s subscription, ready func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.c.receive(ctx, a.nsp, s, a.enqueue, ready)
	}()
}

// enqueue runs on rueidis' read loop: it never blocks. A full queue drops the
// message and counts it (delivery is at most once).
func (a *Adapter) enqueue(m rueidis.PubSubMessage) {
	a.c.mon.received.Add(1)
	select {
	case a.queue <- inbound{channel: m.Channel, msg: m.Message}:
	default:
		a.c.mon.emit(Event{Kind: EventMessageDropped, Nsp: a.nsp, Op: "message", Channel: m.Channel})
	}
}

func (a *Adapter) worker() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case m := <-a.queue:
			a.busy.Add(1)
			if a.sharded {
				a.onShardedMessage(m.channel, []byte(m.msg))
			} else {
				a.onClassicMessage(m.channel, []byte(m.msg))
			}
			a.busy.Add(-1)
		}
	}
}

// dispatcher runs the namespace's server-side emit handlers (user code) in
// order, so that a handler that makes a cluster request itself does not stall
// the worker that must read the answers.
func (a *Adapter) dispatcher() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case fn := <-a.sse:
			a.busy.Add(1)
			fn()
			a.busy.Add(-1)
		}
	}
}

// serverSideEmit queues the dispatch of args; a full queue drops and counts it.
func (a *Adapter) serverSideEmit(args []any, ack func(any)) {
	select {
	case a.sse <- func() { a.ns.ServerSideEmit(values(args), ack) }:
	default:
		a.c.mon.emit(Event{Kind: EventMessageDropped, Nsp: a.nsp, Op: "serverSideEmit"})
	}
}

// UID returns the id of this server on the wire.
func (a *Adapter) UID() string { return a.uid }

// Rooms index: local, through the memory adapter (and the dynamic sharded
// subscriptions).

// AddAll implements adapter.Adapter.
func (a *Adapter) AddAll(ctx context.Context, id string, rooms []string) error {
	if err := a.mem.AddAll(ctx, id, rooms); err != nil {
		return err
	}
	// Once AddAll returns, what other servers broadcast to these rooms
	// reaches the socket: the room channels are subscribed (waiting at most
	// PublishTimeout, and not while the subscriber connection is lost).
	if g := a.syncRooms(rooms); g != 0 {
		a.rsub.wait(ctx, g, a.opts.PublishTimeout)
	}
	return nil
}

// Del implements adapter.Adapter.
func (a *Adapter) Del(ctx context.Context, id, room string) error {
	if err := a.mem.Del(ctx, id, room); err != nil {
		return err
	}
	a.syncRooms([]string{room})
	return nil
}

// DelAll implements adapter.Adapter.
func (a *Adapter) DelAll(ctx context.Context, id string) error {
	var rooms []string
	if a.dynamic() {
		rooms = a.mem.SocketRooms(id)
	}
	if err := a.mem.DelAll(ctx, id); err != nil {
		return err
	}
	a.syncRooms(rooms)
	return nil
}

// SocketRooms implements adapter.Adapter.
func (a *Adapter) SocketRooms(id string) []string { return a.mem.SocketRooms(id) }

// SocketRoomCount implements adapter.RoomCounter: the local index counts
// without copying the socket's rooms.
func (a *Adapter) SocketRoomCount(id string, rooms []string) int {
	return a.mem.SocketRoomCount(id, rooms)
}

// Sockets implements adapter.Adapter (local sockets).
func (a *Adapter) Sockets(ctx context.Context, rooms []string) ([]string, error) {
	return a.mem.Sockets(ctx, rooms)
}

// Rooms implements adapter.Adapter (local rooms).
func (a *Adapter) Rooms(ctx context.Context) ([]string, error) { return a.mem.Rooms(ctx) }

// ServerCount implements adapter.Adapter: the number of connections subscribed
// to the request channel (classic) or the main channel (sharded), summed over
// the Redis nodes, as Node counts.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	if a.isClosed() {
		return 0, adapter.ErrClosed
	}
	ch := a.reqChannel
	if a.sharded {
		ch = a.channel
	}
	return a.c.numSub(ctx, ch)
}

// begin starts an operation with broadcast options: ErrClosed once the
// adapter is closed, else opts with nil read as the zero options.
func (a *Adapter) begin(opts *adapter.BroadcastOptions) (*adapter.BroadcastOptions, error) {
	if a.isClosed() {
		return nil, adapter.ErrClosed
	}
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	return opts, nil
}

func (a *Adapter) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// Broadcast implements adapter.Adapter: it delivers to the local targets,
// then publishes (at most Options.PublishTimeout). When publishing fails the
// error is an *adapter.PublishError.
func (a *Adapter) Broadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	opts, err := a.begin(opts)
	if err != nil {
		return err
	}
	if err := a.mem.Broadcast(ctx, p, opts); err != nil {
		return err
	}
	if opts.Flags.Local {
		return nil
	}
	if a.sharded {
		err = a.shardedBroadcast(ctx, p, opts, "")
	} else {
		err = a.classicBroadcast(ctx, p, opts)
	}
	return notPublished("broadcast", err)
}

// notPublished wraps the publication error of an operation already applied
// locally.
func notPublished(op string, err error) error {
	if err == nil {
		return nil
	}
	return &adapter.PublishError{Op: op, Err: err}
}

// BroadcastWithAck implements adapter.Adapter. It delivers to the local
// targets, then publishes the request (at most Options.PublishTimeout; an
// *adapter.PublishError when that fails). Other servers report their client
// count and then each ack through Redis; the registration ends after
// opts.Flags.Timeout (Options.RequestsTimeout when 0) or when ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions,
	onCount func(n int, ids []string), onAck func(socketID string, args []any)) error {
	opts, err := a.begin(opts)
	if err != nil {
		return err
	}
	var reqID string
	if !opts.Flags.Local {
		// registered before anything is sent: an answer may come at once
		reqID = a.newRequestID()
		d := opts.Flags.Timeout
		if d <= 0 {
			d = a.opts.RequestsTimeout
		}
		a.reqs.addAck(ctx, reqID, d, &ackRequest{onCount: onCount, onAck: onAck})
	}
	if err := a.mem.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
		return err
	}
	if opts.Flags.Local {
		return nil
	}
	if a.sharded {
		err = a.shardedBroadcast(ctx, p, opts, reqID)
	} else {
		err = a.classicBroadcastWithAck(ctx, p, opts, reqID)
	}
	return notPublished("broadcastWithAck", err)
}

// FetchSockets implements adapter.Adapter: the local targets plus the answers
// of the other servers.
func (a *Adapter) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	local, err := a.mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n-1 <= 0 {
		return local, nil
	}
	d := a.opts.RequestsTimeout
	if a.sharded && opts.Flags.Timeout > 0 {
		d = opts.Flags.Timeout
	}
	reqID := a.newRequestID()
	p := a.reqs.register(reqID, kindFetch, n-1)
	p.sockets = local
	if a.sharded {
		err = a.publishCluster(ctx, "fetchSockets", d, a.channel, fetchMessage(a, reqID, opts))
	} else {
		err = a.publishRequest(ctx, "fetchSockets", d, fetchRequest(a, reqID, opts))
	}
	if err != nil {
		a.reqs.unregister(reqID)
		return nil, err
	}
	if err := a.reqs.wait(ctx, reqID, p, d); err != nil {
		return nil, a.reqs.timeoutErr("fetchSockets", p, err)
	}
	return p.sockets, nil
}

// AllRooms returns the rooms of every server (classic mode only, like Node's
// allRooms): the local rooms plus the answers of the other servers.
func (a *Adapter) AllRooms(ctx context.Context) ([]string, error) {
	local, err := a.mem.Rooms(ctx)
	if err != nil {
		return nil, err
	}
	if a.sharded {
		return nil, errors.New("redis: AllRooms is not part of the sharded protocol")
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	reqID := a.newRequestID()
	p := a.reqs.register(reqID, kindRooms, n-1)
	p.rooms = make(map[string]struct{}, len(local))
	for _, r := range local {
		p.rooms[r] = struct{}{}
	}
	if err := a.publishRequest(ctx, "allRooms", a.opts.RequestsTimeout, roomsRequest(a, reqID)); err != nil {
		a.reqs.unregister(reqID)
		return nil, err
	}
	if err := a.reqs.wait(ctx, reqID, p, a.opts.RequestsTimeout); err != nil {
		return nil, a.reqs.timeoutErr("allRooms", p, err)
	}
	out := make([]string, 0, len(p.rooms))
	for r := range p.rooms {
		out = append(out, r)
	}
	return out, nil
}

// AddSockets implements adapter.Adapter: applied locally, then published (an
// *adapter.PublishError when that fails).
func (a *Adapter) AddSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	return a.roomsOp(ctx, opts, rooms, true)
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *Adapter) DelSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	return a.roomsOp(ctx, opts, rooms, false)
}

func (a *Adapter) roomsOp(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string, join bool) error {
	opts, err := a.begin(opts)
	if err != nil {
		return err
	}
	a.applyRooms(ctx, opts, rooms, join)
	if opts.Flags.Local {
		return nil
	}
	op := "delSockets"
	if join {
		op = "addSockets"
	}
	d := a.opts.PublishTimeout
	if a.sharded {
		err = a.publishCluster(ctx, op, d, a.channel, roomsMessage(a, opts, rooms, join))
	} else {
		err = a.publishRequest(ctx, op, d, roomsReq(a, opts, rooms, join))
	}
	return notPublished(op, err)
}

func (a *Adapter) applyRooms(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string, join bool) {
	if join {
		a.mem.AddSockets(ctx, opts, rooms)
	} else {
		a.mem.DelSockets(ctx, opts, rooms)
	}
	a.syncRooms(rooms)
}

// DisconnectSockets implements adapter.Adapter: applied locally, then
// published (an *adapter.PublishError when that fails).
func (a *Adapter) DisconnectSockets(ctx context.Context, opts *adapter.BroadcastOptions, close bool) error {
	opts, err := a.begin(opts)
	if err != nil {
		return err
	}
	if err := a.mem.DisconnectSockets(ctx, opts, close); err != nil {
		return err
	}
	if opts.Flags.Local {
		return nil
	}
	d := a.opts.PublishTimeout
	if a.sharded {
		err = a.publishCluster(ctx, "disconnectSockets", d, a.channel, disconnectMessage(a, opts, close))
	} else {
		err = a.publishRequest(ctx, "disconnectSockets", d, disconnectReq(a, opts, close))
	}
	return notPublished("disconnectSockets", err)
}

// ServerSideEmit implements adapter.Adapter: published within
// Options.PublishTimeout, else an *adapter.PublishError.
func (a *Adapter) ServerSideEmit(ctx context.Context, args []any) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	d := a.opts.PublishTimeout
	var err error
	if a.sharded {
		err = a.publishCluster(ctx, "serverSideEmit", d, a.channel, sseMessage(a, args, ""))
	} else {
		err = a.publishRequest(ctx, "serverSideEmit", d, sseRequest(a, args, ""))
	}
	return notPublished("serverSideEmit", err)
}

// ServerSideEmitWithAck implements adapter.Adapter: it waits for one answer per
// other server, at most Options.RequestsTimeout or until ctx ends.
func (a *Adapter) ServerSideEmitWithAck(ctx context.Context, args []any) ([]any, error) {
	if a.isClosed() {
		return nil, adapter.ErrClosed
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n-1 <= 0 {
		return []any{}, nil
	}
	reqID := a.newRequestID()
	p := a.reqs.register(reqID, kindSSE, n-1)
	if a.sharded {
		err = a.publishCluster(ctx, "serverSideEmit", a.opts.RequestsTimeout, a.channel, sseMessage(a, args, reqID))
	} else {
		err = a.publishRequest(ctx, "serverSideEmit", a.opts.RequestsTimeout, sseRequest(a, args, reqID))
	}
	if err != nil {
		a.reqs.unregister(reqID)
		return nil, err
	}
	werr := a.reqs.wait(ctx, reqID, p, a.opts.RequestsTimeout)
	answers := a.reqs.answers(p)
	if werr != nil {
		return answers, a.reqs.timeoutErr("serverSideEmit", p, werr)
	}
	return answers, nil
}

// Close implements adapter.Adapter: it unsubscribes, stops the adapter's
// goroutines and fails its pending requests. It is idempotent.
func (a *Adapter) Close(ctx context.Context) error {
	// syncMu first: a concurrent syncRooms either has made its changes
	// (before the room subscriber stops) or sees closed.
	a.syncMu.Lock()
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		a.syncMu.Unlock()
		return nil
	}
	a.closed = true
	a.syncMu.Unlock()
	a.mu.Unlock()
	a.reqs.close()
	a.cancel()
	// The goroutines end promptly once cancelled. Wait for them, unless one is
	// running namespace code: Close may then be called from it (a namespace
	// removed when its last socket is disconnected by a remote request), and
	// waiting would deadlock.
	if a.busy.Load() == 0 {
		a.wg.Wait()
	}
	a.c.forget(a)
	return a.mem.Close(ctx)
}

// Requests bookkeeping.

func (a *Adapter) newRequestID() string {
	if a.sharded {
		return randomHex(8)
	}
	return randomUID6()
}

// Dynamic room subscriptions (sharded dynamic and dynamic-private).

func (a *Adapter) dynamic() bool {
	return a.sharded && a.opts.SubscriptionMode != Static
}

// separate reports whether room gets its own channel: every room in
// dynamic-private, public rooms (not a local socket id) in dynamic.
func (a *Adapter) separate(room string) bool {
	if a.opts.SubscriptionMode == DynamicPrivate {
		return true
	}
	return !a.mem.HasSocket(room)
}

// syncRooms subscribes the channels of the rooms that have their own channel
// and a local socket, and unsubscribes the others; O(1) per room. With the
// shared room connection it returns the generation that a wait for the
// subscriptions needs (roomSubscriber.wait), 0 when there is nothing to wait
// for.
func (a *Adapter) syncRooms(rooms []string) (gen uint64) {
	if !a.dynamic() || len(rooms) == 0 {
		return 0
	}
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	if a.isClosed() {
		return 0
	}
	for _, room := range rooms {
		want := a.mem.HasRoom(room) && a.separate(room)
		gen = max(gen, a.rsub.set(shardedSubChannel(a.key, a.nsp, room), want))
	}
	return gen
}

// publishAsync queues an answer to another server's request (op) for the
// adapter's outbox; it never blocks. refuse (nil allowed) makes the answer
// sent instead when payload is over MaxReplySize.
func (a *Adapter) publishAsync(op, channel string, payload []byte, refuse refusal) {
	a.out.put(op, channel, payload, refuse)
}
