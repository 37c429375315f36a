package redis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/redis/wire"
	"github.com/corvid-io/corvid/parser"
)

// StreamsOptions configure Streams, the adapter of npm
// @socket.io/redis-streams-adapter 0.3. The zero value of every field means
// Node's default, written next to it.
type StreamsOptions struct {
	StreamName       string        // "socket.io"
	StreamCount      int           // 1; see wire.StreamName for the naming (and its quirk)
	ChannelPrefix    string        // "socket.io": requests on {p}#{nsp}#, responses on {p}#{nsp}#{uid}#
	MaxLen           int64         // 10000: XADD MAXLEN ~
	ReadCount        int64         // 100: XREAD COUNT
	BlockTime        time.Duration // 5s: XREAD BLOCK
	SessionKeyPrefix string        // "sio:session:"
	// OnlyPlaintext writes entries with binary as JSON too (Node's onlyPlaintext).
	OnlyPlaintext bool
	// Recovery must be set when the server runs with connection state
	// recovery (socketio.ServerOptions.ConnectionStateRecovery): broadcasts
	// then carry their stream entry id as offset, and sessions are stored in
	// Redis (SET PX MaxDisconnectionDuration), so that a client recovers on
	// any node of the cluster, Go or Node.
	Recovery bool
	// MaxDisconnectionDuration is the session lifetime in Redis (default 2
	// minutes; use the server's recovery window).
	MaxDisconnectionDuration time.Duration
	// RequestsTimeout bounds fetchSockets (without a timeout flag) and
	// serverSideEmit with acknowledgement (default 5s, as Node's).
	RequestsTimeout time.Duration
	// UID is this server's id on the wire (default 16 random hex characters).
	UID string
	// PublishTimeout, MaxReplySize and OnEvent are those of Options: the
	// deadline of the XADD or PUBLISH of a fire-and-forget operation (default
	// 1 s), the largest answer to a request (default 1 MiB), the hook of the
	// Events (counted in Streams.Stats).
	PublishTimeout time.Duration
	MaxReplySize   int
	OnEvent        func(Event)
}

func (o *StreamsOptions) withDefaults() StreamsOptions {
	var c StreamsOptions
	if o != nil {
		c = *o
	}
	if c.StreamName == "" {
		c.StreamName = "socket.io"
	}
	if c.StreamCount <= 0 {
		c.StreamCount = 1
	}
	if c.ChannelPrefix == "" {
		c.ChannelPrefix = "socket.io"
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 10000
	}
	if c.ReadCount <= 0 {
		c.ReadCount = 100
	}
	if c.BlockTime <= 0 {
		c.BlockTime = 5 * time.Second
	}
	if c.SessionKeyPrefix == "" {
		c.SessionKeyPrefix = "sio:session:"
	}
	if c.MaxDisconnectionDuration <= 0 {
		c.MaxDisconnectionDuration = 2 * time.Minute
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.UID == "" {
		c.UID = randomHex(8)
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.MaxReplySize <= 0 {
		c.MaxReplySize = DefaultMaxReplySize
	}
	return c
}

// Streams is one server's connection to a Redis Streams cluster, shared by the
// adapters of its namespaces (like the factory of Node's createAdapter).
// Broadcasts and room/disconnect operations are stream entries (XADD), read
// back by every server with XREAD; fetchSockets, serverSideEmit and
// broadcasts with acknowledgement go through pub/sub, their answers to the
// requester's channel. One reader goroutine runs per stream in use.
type Streams struct {
	rc    rueidis.Client
	ownRC bool
	opts  StreamsOptions
	sub   *Client // receive() over rc

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	adapters map[string]*StreamsAdapter // by namespace
	readers  map[string]bool            // streams being read
	closed   bool
}

// NewStreams returns a Streams over rc, which Close does not close.
func NewStreams(rc rueidis.Client, opts *StreamsOptions) *Streams {
	ctx, cancel := context.WithCancel(context.Background())
	o := opts.withDefaults()
	return &Streams{rc: rc, opts: o, sub: &Client{rc: rc, mon: &monitor{onEvent: o.OnEvent}}, ctx: ctx, cancel: cancel,
		adapters: make(map[string]*StreamsAdapter), readers: make(map[string]bool)}
}

// Stats returns the counters of the Streams (Received counts the pub/sub
// requests and answers, not the stream entries).
func (st *Streams) Stats() Stats { return st.sub.mon.stats() }

// DialStreams connects to Redis at url (see Dial) and returns a Streams that
// owns the connection.
func DialStreams(ctx context.Context, url string, opts *StreamsOptions) (*Streams, error) {
	co, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, errors.New("redis: parse url: " + err.Error())
	}
	co.DisableCache = true
	if co.Dialer.Timeout == 0 {
		co.Dialer.Timeout = 2 * time.Second
	}
	co.Dialer.KeepAlive = 5 * time.Second
	co.ConnWriteTimeout = 5 * time.Second
	co.DisableRetry = true // see Dial
	rc, err := rueidis.NewClient(co)
	if err != nil {
		return nil, errors.New("redis: connect to " + redactURL(url) + ": " + err.Error())
	}
	if err := rc.Do(ctx, rc.B().Ping().Build()).Error(); err != nil {
		rc.Close()
		return nil, errors.New("redis: ping " + redactURL(url) + ": " + err.Error())
	}
	st := NewStreams(rc, opts)
	st.ownRC = true
	return st, nil
}

// UID returns this server's id on the wire.
func (st *Streams) UID() string { return st.opts.UID }

// Close stops the readers and every adapter, and closes the connection when
// DialStreams made it.
func (st *Streams) Close() error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	as := make([]*StreamsAdapter, 0, len(st.adapters))
	for _, a := range st.adapters {
		as = append(as, a)
	}
	st.mu.Unlock()
	for _, a := range as {
		a.Close(context.Background())
	}
	st.cancel()
	st.wg.Wait()
	if st.ownRC {
		st.rc.Close()
	}
	return nil
}

// NewAdapter is an adapter.Factory: pass st.NewAdapter as
// socketio.ServerOptions.Adapter.
func (st *Streams) NewAdapter(ns adapter.Namespace) (adapter.Adapter, error) {
	m, _ := adapter.NewMemory(ns)
	nsp := ns.Name()
	a := &StreamsAdapter{
		st:      st,
		ns:      ns,
		mem:     m.(*adapter.Memory),
		nsp:     nsp,
		uid:     st.opts.UID,
		stream:  wire.StreamName(st.opts.StreamName, st.opts.StreamCount, nsp),
		public:  st.opts.ChannelPrefix + "#" + nsp + "#",
		private: st.opts.ChannelPrefix + "#" + nsp + "#" + st.opts.UID + "#",
		reqs:    newRequests(),
		recent:  make(map[string]recentSession),
		joining: make(map[string]*joinState),
		local:   make(map[string]*localBroadcast),
		sse:     make(chan func(), 256),
		ready:   make(chan struct{}),
	}
	a.ctx, a.cancel = context.WithCancel(st.ctx)
	a.localCond = sync.NewCond(&a.localMu)
	a.out = newOutbox(st.sub.mon, nsp, streamsOutboxSize, st.opts.MaxReplySize, st.opts.RequestsTimeout, st.rc,
		func(m outMsg) rueidis.Completed { return a.publishCmd(m.channel, m.payload) })
	a.cn = &clusterNode{uid: a.uid, nsp: nsp, mem: a.mem, ctx: a.ctx, timeout: st.opts.RequestsTimeout, reqs: a.reqs,
		reply:          a.respondTo,
		replyLater:     func(uid string, m *wire.ClusterMessage) { go a.respondTo(uid, m) },
		serverSideEmit: func(args []any, ack func(any)) { a.ns.ServerSideEmit(values(args), ack) },
		rooms: func(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string, join bool) {
			if join {
				_ = a.mem.AddSockets(ctx, opts, rooms)
			} else {
				_ = a.mem.DelSockets(ctx, opts, rooms)
			}
		}}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil, ErrClosed
	}
	st.adapters[nsp] = a
	startReader := !st.readers[a.stream]
	st.readers[a.stream] = true
	st.mu.Unlock()
	if startReader {
		if err := st.startReader(a.stream); err != nil {
			a.Close(context.Background())
			return nil, err
		}
	}
	a.start()
	return a, nil
}

// startReader reads stream from its current end (Node starts at "$"; the
// last id is taken first so that no entry added meanwhile is missed).
func (st *Streams) startReader(stream string) error {
	ctx, cancel := context.WithTimeout(st.ctx, st.opts.RequestsTimeout)
	defer cancel()
	entries, err := st.rc.Do(ctx, st.rc.B().Xrevrange().Key(stream).End("+").Start("-").Count(1).Build()).AsXRange()
	if err != nil && !rueidis.IsRedisNil(err) {
		return errors.New("redis: streams: " + err.Error())
	}
	offset := "0-0"
	if len(entries) > 0 {
		offset = entries[0].ID
	}
	st.wg.Add(1)
	go st.read(stream, offset)
	return nil
}

func (st *Streams) read(stream, offset string) {
	defer st.wg.Done()
	backoff := 50 * time.Millisecond
	for st.ctx.Err() == nil {
		cmd := st.rc.B().Xread().Count(st.opts.ReadCount).Block(st.opts.BlockTime.Milliseconds()).
			Streams().Key(stream).Id(offset).Build()
		res, err := st.rc.Do(st.ctx, cmd).AsXRead()
		if err != nil {
			if rueidis.IsRedisNil(err) {
				continue
			}
			if st.ctx.Err() != nil {
				return
			}
			t := time.NewTimer(backoff)
			select {
			case <-st.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		for _, e := range res[stream] {
			offset = e.ID
			nsp := e.FieldValues["nsp"]
			if nsp == "" {
				continue
			}
			st.mu.Lock()
			a := st.adapters[nsp]
			st.mu.Unlock()
			if a != nil {
				a.onEntry(e)
			}
		}
	}
}

// streamsOutboxSize bounds the answers of a StreamsAdapter waiting to be
// published (over it they are dropped and counted, Stats.RepliesDropped).
const streamsOutboxSize = 4096

// StreamsAdapter is the adapter of one namespace over Streams. It implements
// adapter.SessionStore (connection state recovery across the cluster).
type StreamsAdapter struct {
	st  *Streams
	ns  adapter.Namespace
	mem *adapter.Memory

	nsp, uid, stream, public, private string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sse    chan func() // server-side emit handlers, run in order
	ready  chan struct{}
	readyN atomic.Int32
	once   sync.Once

	reqs *requests    // the requests in flight
	cn   *clusterNode // the cluster protocol
	out  *outbox      // answers to other servers' requests

	mu     sync.Mutex
	recent map[string]recentSession // sessions just taken from Redis, by pid
	closed bool

	// applyMu orders the reader's application of other servers' broadcasts
	// with the recoveries of sockets (joining, by socket id).
	applyMu sync.Mutex
	joining map[string]*joinState

	// Stored broadcasts of this server, applied by the reader in stream order.
	localMu   sync.Mutex
	localCond *sync.Cond
	inflight  int // XADDs of stored broadcasts not returned yet
	local     map[string]*localBroadcast
}

// joinState is a socket being recovered on this node: the entries up to upTo
// were replayed by RestoreSession; later broadcasts of other servers that
// select it are kept in buf until AddAll makes it a target. Once attached,
// entries up to upTo that the reader applies late are not delivered again.
type joinState struct {
	upTo     string
	rooms    []string
	buf      []*parser.Packet
	at       time.Time
	attached bool
}

// maxJoinBuffer bounds the packets kept for one joining socket; over it the
// state is dropped (the socket may then miss packets, at most once).
const maxJoinBuffer = 10000

// recentSession is a session RestoreSession took from Redis (which deletes
// it): the server asks again, under its recovery fence, for the packets
// missed until the socket becomes a target, and gets the same session.
type recentSession struct {
	s  wire.Session
	at time.Time
}

// recentSessionTTL bounds how long a taken session answers a second restore.
const recentSessionTTL = 10 * time.Second

var (
	_ adapter.Adapter      = (*StreamsAdapter)(nil)
	_ adapter.SessionStore = (*StreamsAdapter)(nil)
)

func (a *StreamsAdapter) start() {
	a.wg.Add(3)
	go a.dispatcher()
	go func() {
		defer a.wg.Done()
		a.out.run(a.ctx)
	}()
	go func() {
		defer a.wg.Done()
		chans := []string{a.public, a.private}
		a.st.sub.receive(a.ctx, a.nsp, subscription{
			build: func(b rueidis.Builder) rueidis.Completed { return b.Subscribe().Channel(chans...).Build() },
			unsub: func(b rueidis.Builder) rueidis.Completed { return b.Unsubscribe().Channel(chans...).Build() },
			n:     len(chans), name: a.public,
		}, func(m rueidis.PubSubMessage) { a.onPubSub(m.Channel, []byte(m.Message)) }, func() {
			if a.readyN.Add(1) >= 2 {
				a.once.Do(func() { close(a.ready) })
			}
		})
	}()
	waitFor(a.ctx, a.ready, a.st.opts.RequestsTimeout)
}

func (a *StreamsAdapter) dispatcher() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case fn := <-a.sse:
			fn()
		}
	}
}

func (a *StreamsAdapter) message(t wire.MessageType) *wire.ClusterMessage { return a.cn.message(t) }

// xadd appends m to the namespace's stream and returns the entry id, waiting
// at most PublishTimeout; a failure is reported (EventPublishFailed).
func (a *StreamsAdapter) xadd(ctx context.Context, m *wire.ClusterMessage) (string, error) {
	e, err := wire.AppendStreamEntry(m, a.st.opts.OnlyPlaintext)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, a.st.opts.PublishTimeout)
	defer cancel()
	b := a.st.rc.B().Xadd().Key(a.stream).Maxlen().Almost().Threshold(strconv.FormatInt(a.st.opts.MaxLen, 10)).
		Id("*").FieldValue().FieldValue("uid", e.UID).FieldValue("nsp", e.Nsp).FieldValue("type", e.Type)
	if e.HasData {
		b = b.FieldValue("data", e.Data)
	}
	id, err := a.st.rc.Do(ctx, b.Build()).ToString()
	if err != nil {
		err = fmt.Errorf("redis: xadd to %s: %w", a.stream, err)
		a.st.sub.mon.emit(Event{Kind: EventPublishFailed, Nsp: a.nsp, Op: messageOp(m.Type), Channel: a.stream, Err: err})
	}
	return id, err
}

// publish sends a request (msgpack envelope) on channel, waiting at most d;
// a failure is reported (EventPublishFailed).
func (a *StreamsAdapter) publish(ctx context.Context, channel string, m *wire.ClusterMessage, d time.Duration) error {
	payload, err := wire.AppendClusterMessageMsgpack(nil, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	err = a.st.rc.Do(ctx, a.publishCmd(channel, payload)).Error()
	if err != nil {
		err = errors.New("redis: publish on " + channel + ": " + err.Error())
		a.st.sub.mon.emit(Event{Kind: EventPublishFailed, Nsp: a.nsp, Op: messageOp(m.Type), Channel: channel, Err: err})
	}
	return err
}

func (a *StreamsAdapter) publishCmd(channel string, payload []byte) rueidis.Completed {
	return a.st.rc.B().Publish().Channel(channel).Message(rueidis.BinaryString(payload)).Build()
}

// respondTo queues an answer to server uid in the outbox (bounded; an answer
// over MaxReplySize is replaced by its refusal, see wire.TooLarge).
func (a *StreamsAdapter) respondTo(uid string, m *wire.ClusterMessage) {
	payload, err := wire.AppendClusterMessageMsgpack(nil, m)
	if err != nil {
		return
	}
	a.out.put(messageOp(m.Type), a.st.opts.ChannelPrefix+"#"+a.nsp+"#"+uid+"#", payload,
		clusterRefusal(m, wire.AppendClusterMessageMsgpack))
}

// storable: the reference appends an offset to EVENTs without ack, not volatile.
func streamsStorable(p *parser.Packet, opts *adapter.BroadcastOptions) bool {
	return (p.Type == parser.Event || p.Type == parser.BinaryEvent) && !p.HasID && (opts == nil || !opts.Flags.Volatile)
}

func withOffset(p *parser.Packet, offset string) *parser.Packet {
	cp := *p
	cp.Args = append(append(make([]any, 0, len(p.Args)+1), p.Args...), offset)
	return &cp
}

// onEntry applies a stream entry of another server (reader goroutine).
func (a *StreamsAdapter) onEntry(e rueidis.XRangeEntry) {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	a.pruneJoiningLocked(e.ID)
	fv := e.FieldValues
	data, has := fv["data"]
	if fv["uid"] == a.uid {
		if fv["type"] == "3" && a.st.opts.Recovery {
			if lb := a.takeLocal(e.ID); lb != nil {
				p := withOffset(lb.p, e.ID)
				_ = a.mem.Broadcast(a.ctx, p, a.joiningLocked(e.ID, p, lb.opts))
				close(lb.done)
			}
		}
		return
	}
	m, err := wire.DecodeStreamEntry(wire.StreamEntry{UID: fv["uid"], Nsp: fv["nsp"], Type: fv["type"], Data: data, HasData: has})
	if err != nil || m.Nsp != a.nsp {
		return
	}
	if m.Type != wire.MsgBroadcast {
		a.cn.onMessage(m) // rooms and disconnections
		return
	}
	if m.RequestID != "" {
		return
	}
	p, ok := fromWirePacket(m.Packet, a.nsp)
	if !ok {
		return
	}
	opts := fromWireOpts(m.Opts)
	if a.st.opts.Recovery && streamsStorable(p, opts) {
		p = withOffset(p, e.ID)
		opts = a.joiningLocked(e.ID, p, opts)
	}
	_ = a.mem.Broadcast(a.ctx, p, opts)
}

// onPubSub handles a request or a response (rueidis' read loop: no blocking).
func (a *StreamsAdapter) onPubSub(channel string, msg []byte) {
	a.st.sub.mon.received.Add(1)
	m, err := wire.DecodeClusterMessage(msg)
	if err != nil {
		return
	}
	switch m.Type {
	case wire.MsgFetchSocketsResponse, wire.MsgServerSideEmitResponse, wire.MsgBroadcastClientCount, wire.MsgBroadcastAck:
		if channel == a.private {
			a.cn.onResponse(m)
		}
		return
	case wire.MsgBroadcast, wire.MsgFetchSockets, wire.MsgServerSideEmit: // requests; the rest is in the stream
	default:
		return
	}
	if m.UID == a.uid || m.Nsp != a.nsp {
		return
	}
	select {
	case a.sse <- func() { a.cn.onMessage(m) }:
	default: // full: dropped (at most once)
		a.st.sub.mon.emit(Event{Kind: EventMessageDropped, Nsp: a.nsp, Op: "message", Channel: channel})
	}
}

// request publishes m (with a fresh request id) on the public channel and
// waits for expected answers.
func (a *StreamsAdapter) request(ctx context.Context, op string, kind pendingKind, m *wire.ClusterMessage, expected int, d time.Duration) (*pending, error) {
	return a.cn.request(ctx, op, kind, m, expected, d, func(ctx context.Context, m *wire.ClusterMessage) error {
		return a.publish(ctx, a.public, m, d)
	})
}

func (a *StreamsAdapter) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// AddAll implements adapter.Adapter (local index). For a socket being
// recovered it also delivers, in order, the broadcasts of other servers
// applied since its restore.
func (a *StreamsAdapter) AddAll(ctx context.Context, id string, rooms []string) error {
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	err := a.mem.AddAll(ctx, id, rooms)
	if js := a.joining[id]; js != nil && !js.attached {
		js.attached = true
		for _, p := range js.buf {
			if msgs, err := a.ns.Encode(p); err == nil {
				a.ns.Deliver(id, msgs, &adapter.Flags{})
			}
		}
		js.buf = nil
	}
	return err
}

// Del implements adapter.Adapter.
func (a *StreamsAdapter) Del(ctx context.Context, id, room string) error {
	return a.mem.Del(ctx, id, room)
}

// DelAll implements adapter.Adapter.
func (a *StreamsAdapter) DelAll(ctx context.Context, id string) error { return a.mem.DelAll(ctx, id) }

// SocketRooms implements adapter.Adapter.
func (a *StreamsAdapter) SocketRooms(id string) []string { return a.mem.SocketRooms(id) }

// SocketRoomCount implements adapter.RoomCounter: the local index counts
// without copying the socket's rooms.
func (a *StreamsAdapter) SocketRoomCount(id string, rooms []string) int {
	return a.mem.SocketRoomCount(id, rooms)
}

// Sockets implements adapter.Adapter (local sockets).
func (a *StreamsAdapter) Sockets(ctx context.Context, rooms []string) ([]string, error) {
	return a.mem.Sockets(ctx, rooms)
}

// Rooms implements adapter.Adapter (local rooms).
func (a *StreamsAdapter) Rooms(ctx context.Context) ([]string, error) { return a.mem.Rooms(ctx) }

// Broadcast implements adapter.Adapter: the local delivery, then XADD (at
// most PublishTimeout; an *adapter.PublishError when it fails). With
// Recovery a stored packet carries its entry id as offset, so its local
// delivery waits for the XADD (at most PublishTimeout; when the XADD fails
// the packet is delivered without offset), see broadcastInOrder.
func (a *StreamsAdapter) Broadcast(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	if opts.Flags.Local {
		return a.mem.Broadcast(ctx, p, opts)
	}
	m := a.message(wire.MsgBroadcast)
	m.Packet, m.Opts = toWirePacket(p, a.nsp, true), toWireOpts(opts)
	if a.st.opts.Recovery && streamsStorable(p, opts) {
		return a.broadcastInOrder(ctx, m, p, opts)
	}
	if err := a.mem.Broadcast(ctx, p, opts); err != nil {
		return err
	}
	_, err := a.xadd(ctx, m)
	return notPublished("broadcast", err)
}

// localBroadcast is a stored broadcast of this server waiting for the reader
// to reach its entry.
type localBroadcast struct {
	p    *parser.Packet
	opts *adapter.BroadcastOptions
	done chan struct{}
}

// broadcastInOrder is Broadcast with recovery: the local sockets get the
// packet when the stream reader reaches its entry, so that every server
// delivers the stream's broadcasts in stream order and a client's last offset
// is a cursor (Node delivers its own broadcasts at once, out of that order).
// If the reader does not get there within RequestsTimeout the packet is
// delivered directly.
func (a *StreamsAdapter) broadcastInOrder(ctx context.Context, m *wire.ClusterMessage, p *parser.Packet, opts *adapter.BroadcastOptions) error {
	a.localMu.Lock()
	a.inflight++
	a.localMu.Unlock()
	id, err := a.xadd(ctx, m)
	lb := &localBroadcast{p: p, opts: opts, done: make(chan struct{})}
	a.localMu.Lock()
	a.inflight--
	if err == nil {
		a.local[id] = lb
	}
	a.localCond.Broadcast()
	a.localMu.Unlock()
	if err != nil {
		_ = a.mem.Broadcast(ctx, p, opts)
		return notPublished("broadcast", err)
	}
	t := time.NewTimer(a.st.opts.RequestsTimeout)
	defer t.Stop()
	select {
	case <-lb.done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	case <-a.ctx.Done():
	}
	a.localMu.Lock()
	_, pending := a.local[id]
	delete(a.local, id)
	a.localMu.Unlock()
	if pending {
		return a.mem.Broadcast(ctx, withOffset(p, id), opts)
	}
	<-lb.done // the reader has it
	return nil
}

// takeLocal returns the local broadcast of entry id, waiting while an XADD of
// this server has not returned its id yet; nil when id is not one.
func (a *StreamsAdapter) takeLocal(id string) *localBroadcast {
	a.localMu.Lock()
	defer a.localMu.Unlock()
	for {
		if lb := a.local[id]; lb != nil {
			delete(a.local, id)
			return lb
		}
		if a.inflight == 0 || a.ctx.Err() != nil {
			return nil
		}
		a.localCond.Wait()
	}
}

// BroadcastWithAck implements adapter.Adapter: the request goes through
// pub/sub; every other server answers its client count, then each ack.
func (a *StreamsAdapter) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts *adapter.BroadcastOptions,
	onCount func(n int, ids []string), onAck func(socketID string, args []any)) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	if !opts.Flags.Local {
		id := randomHex(8)
		d := opts.Flags.Timeout
		if d <= 0 {
			d = a.st.opts.RequestsTimeout
		}
		a.reqs.addAck(ctx, id, d, &ackRequest{onCount: onCount, onAck: onAck})
		if err := a.mem.BroadcastWithAck(ctx, p, opts, onCount, onAck); err != nil {
			return err
		}
		m := a.message(wire.MsgBroadcast)
		m.Packet, m.Opts, m.RequestID = toWirePacket(p, a.nsp, true), toWireOpts(opts), id
		return notPublished("broadcastWithAck", a.publish(ctx, a.public, m, a.st.opts.PublishTimeout))
	}
	return a.mem.BroadcastWithAck(ctx, p, opts, onCount, onAck)
}

// ServerCount implements adapter.Adapter: PUBSUB NUMSUB of the public channel.
func (a *StreamsAdapter) ServerCount(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, a.st.opts.RequestsTimeout)
	defer cancel()
	res, err := a.st.rc.Do(ctx, a.st.rc.B().PubsubNumsub().Channel(a.public).Build()).ToArray()
	if err != nil {
		return 1, err
	}
	if len(res) < 2 {
		return 1, nil
	}
	n, err := res[1].AsInt64()
	if err != nil || n < 1 {
		return 1, err
	}
	return int(n), nil
}

// FetchSockets implements adapter.Adapter.
func (a *StreamsAdapter) FetchSockets(ctx context.Context, opts *adapter.BroadcastOptions) ([]adapter.SocketInfo, error) {
	if a.isClosed() {
		return nil, adapter.ErrClosed
	}
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	local, err := a.mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, _ := a.ServerCount(ctx)
	if n-1 <= 0 {
		return local, nil
	}
	d := opts.Flags.Timeout
	if d <= 0 {
		d = a.st.opts.RequestsTimeout
	}
	m := a.message(wire.MsgFetchSockets)
	m.Opts = &wire.Opts{Rooms: opts.Rooms, Except: opts.Except, Flags: toWireFlags(&opts.Flags)}
	p, err := a.request(ctx, "fetchSockets", kindFetch, m, n-1, d)
	if p != nil {
		local = append(local, p.sockets...)
	}
	return local, err
}

// streamOp applies a room or disconnect operation locally (apply), then
// appends it to the stream (an *adapter.PublishError when that fails).
func (a *StreamsAdapter) streamOp(ctx context.Context, m *wire.ClusterMessage, opts *adapter.BroadcastOptions,
	apply func(*adapter.BroadcastOptions) error) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	if opts == nil {
		opts = &adapter.BroadcastOptions{}
	}
	if err := apply(opts); err != nil || opts.Flags.Local {
		return err
	}
	m.Opts = &wire.Opts{Rooms: opts.Rooms, Except: opts.Except, Flags: toWireFlags(&opts.Flags)}
	_, err := a.xadd(ctx, m)
	return notPublished(messageOp(m.Type), err)
}

// AddSockets implements adapter.Adapter: applied locally, then an entry.
func (a *StreamsAdapter) AddSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	m := a.message(wire.MsgSocketsJoin)
	m.Rooms = rooms
	return a.streamOp(ctx, m, opts, func(o *adapter.BroadcastOptions) error { return a.mem.AddSockets(ctx, o, rooms) })
}

// DelSockets implements adapter.Adapter, as AddSockets.
func (a *StreamsAdapter) DelSockets(ctx context.Context, opts *adapter.BroadcastOptions, rooms []string) error {
	m := a.message(wire.MsgSocketsLeave)
	m.Rooms = rooms
	return a.streamOp(ctx, m, opts, func(o *adapter.BroadcastOptions) error { return a.mem.DelSockets(ctx, o, rooms) })
}

// DisconnectSockets implements adapter.Adapter, as AddSockets.
func (a *StreamsAdapter) DisconnectSockets(ctx context.Context, opts *adapter.BroadcastOptions, close bool) error {
	m := a.message(wire.MsgDisconnectSockets)
	m.Close = close
	return a.streamOp(ctx, m, opts, func(o *adapter.BroadcastOptions) error { return a.mem.DisconnectSockets(ctx, o, close) })
}

// ServerSideEmit implements adapter.Adapter (pub/sub).
func (a *StreamsAdapter) ServerSideEmit(ctx context.Context, args []any) error {
	if a.isClosed() {
		return adapter.ErrClosed
	}
	m := a.message(wire.MsgServerSideEmit)
	m.Args = materializeAll(args)
	return notPublished("serverSideEmit", a.publish(ctx, a.public, m, a.st.opts.PublishTimeout))
}

func materializeAll(args []any) []any {
	out := make([]any, len(args))
	for i, v := range args {
		out[i] = materialize(v)
	}
	return out
}

// ServerSideEmitWithAck implements adapter.Adapter.
func (a *StreamsAdapter) ServerSideEmitWithAck(ctx context.Context, args []any) ([]any, error) {
	if a.isClosed() {
		return nil, adapter.ErrClosed
	}
	n, _ := a.ServerCount(ctx)
	if n-1 <= 0 {
		return []any{}, nil
	}
	m := a.message(wire.MsgServerSideEmit)
	m.Args = materializeAll(args)
	p, err := a.request(ctx, "serverSideEmit", kindSSE, m, n-1, a.st.opts.RequestsTimeout)
	if p == nil {
		return nil, err
	}
	return a.reqs.answers(p), err
}

// Close implements adapter.Adapter. The stream reader stops with Streams.Close.
func (a *StreamsAdapter) Close(ctx context.Context) error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.reqs.close()
	a.st.mu.Lock()
	if a.st.adapters[a.nsp] == a {
		delete(a.st.adapters, a.nsp)
	}
	a.st.mu.Unlock()
	a.cancel()
	a.localMu.Lock()
	a.localCond.Broadcast() // a reader waiting in takeLocal sees the end
	a.localMu.Unlock()
	a.wg.Wait()
	return a.mem.Close(ctx)
}

// PersistSession implements adapter.SessionStore: SET <prefix><pid>
// base64(msgpack {sid, pid, rooms, data}) PX <MaxDisconnectionDuration>.
func (a *StreamsAdapter) PersistSession(ctx context.Context, s *adapter.Session) error {
	v, err := wire.AppendSession(&wire.Session{SID: s.SID, PID: s.PID, Rooms: s.Rooms, Data: materialize(s.Data)})
	if err != nil {
		return err
	}
	return a.st.rc.Do(ctx, a.st.rc.B().Set().Key(a.st.opts.SessionKeyPrefix+s.PID).Value(v).
		PxMilliseconds(a.st.opts.MaxDisconnectionDuration.Milliseconds()).Build()).Error()
}

var offsetRE = regexp.MustCompile(`^[0-9]+-[0-9]+$`)

// restoreRangeCalls bounds the XRANGE calls of a restore, as Node's.
const restoreRangeCalls = 100

// RestoreSession implements adapter.SessionStore, as Node's: the session is
// read and deleted (MULTI GET DEL EXEC), the offset must still be in the
// stream, and the broadcasts after it whose rooms select the session are
// returned with their entry id as offset. Volatile broadcasts are not
// replayed (Node's replays those in the stream too). The session taken from
// Redis answers one more restore of the same pid on this adapter within 10 s:
// the server asks again under its recovery fence, so that no local broadcast
// falls between the two calls.
func (a *StreamsAdapter) RestoreSession(ctx context.Context, pid, offset string) (*adapter.Session, error) {
	if !offsetRE.MatchString(offset) {
		return nil, nil
	}
	key := a.st.opts.SessionKeyPrefix + pid
	rc := a.st.rc
	res := rc.DoMulti(ctx, rc.B().Multi().Build(), rc.B().Get().Key(key).Build(), rc.B().Del().Key(key).Build(), rc.B().Exec().Build())
	execd, err := res[3].ToArray()
	if err != nil {
		return nil, err
	}
	if len(execd) < 1 {
		return nil, nil
	}
	var ws *wire.Session
	if raw, err := execd[0].ToString(); err == nil {
		if ws, err = wire.DecodeSession(raw); err != nil {
			return nil, err
		}
		a.remember(ws)
	} else if ws = a.recall(pid); ws == nil {
		return nil, nil // nil reply: no session
	}
	at, err := rc.Do(ctx, rc.B().Xrange().Key(a.stream).Start(offset).End(offset).Build()).AsXRange()
	if err != nil || len(at) == 0 {
		return nil, err
	}
	s := &adapter.Session{SID: ws.SID, PID: ws.PID, Rooms: ws.Rooms, Data: ws.Data, Offset: offset}
	// The reader applies no entry between the replay's end and the
	// registration of the joining socket.
	a.applyMu.Lock()
	defer a.applyMu.Unlock()
	defer func() {
		if len(a.joining) < maxJoinBuffer {
			a.joining[s.SID] = &joinState{upTo: offset, rooms: s.Rooms, at: time.Now()}
		}
	}()
	for i := 0; i < restoreRangeCalls; i++ {
		entries, err := rc.Do(ctx, rc.B().Xrange().Key(a.stream).Start(nextOffset(offset)).End("+").Build()).AsXRange()
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		for _, e := range entries {
			offset = e.ID
			fv := e.FieldValues
			if fv["nsp"] != a.nsp || fv["type"] != "3" {
				continue
			}
			data, has := fv["data"]
			m, err := wire.DecodeStreamEntry(wire.StreamEntry{UID: fv["uid"], Nsp: fv["nsp"], Type: fv["type"], Data: data, HasData: has})
			if err != nil || m.RequestID != "" {
				continue
			}
			p, ok := fromWirePacket(m.Packet, a.nsp)
			if !ok {
				continue
			}
			opts := fromWireOpts(m.Opts)
			if opts.Flags.Volatile || !sessionIncludes(s.Rooms, opts) {
				continue
			}
			s.Missed = append(s.Missed, withOffset(p, e.ID))
		}
	}
	return s, nil
}

// pruneJoiningLocked forgets the joining states the reader has passed (id is
// past upTo once attached) or that are older than recentSessionTTL.
func (a *StreamsAdapter) pruneJoiningLocked(id string) {
	for sid, js := range a.joining {
		if time.Since(js.at) > recentSessionTTL || (js.attached && !idLE(id, js.upTo)) {
			delete(a.joining, sid)
		}
	}
}

// joiningLocked handles the broadcast entry id (packet p, with its offset) for
// the sockets being recovered: one that already got it in its replay is
// excluded; one not yet a target gets it buffered when its rooms select it.
func (a *StreamsAdapter) joiningLocked(id string, p *parser.Packet, opts *adapter.BroadcastOptions) *adapter.BroadcastOptions {
	if len(a.joining) == 0 {
		return opts
	}
	var except []string
	for sid, js := range a.joining {
		switch {
		case idLE(id, js.upTo):
			except = append(except, sid)
		case !js.attached:
			if sessionIncludes(js.rooms, opts) {
				if len(js.buf) >= maxJoinBuffer {
					delete(a.joining, sid)
					continue
				}
				js.buf = append(js.buf, p)
			}
		}
	}
	if len(except) == 0 {
		return opts
	}
	cp := *opts
	cp.Except = append(append([]string(nil), opts.Except...), except...)
	return &cp
}

// idLE compares stream entry ids "<ms>-<seq>".
func idLE(a, b string) bool {
	at, as := splitID(a)
	bt, bs := splitID(b)
	return at < bt || (at == bt && as <= bs)
}

func splitID(id string) (uint64, uint64) {
	ts, seq, _ := strings.Cut(id, "-")
	t, _ := strconv.ParseUint(ts, 10, 64)
	n, _ := strconv.ParseUint(seq, 10, 64)
	return t, n
}

// remember keeps a session taken from Redis for a second restore (see
// recentSession); expired ones are dropped, so the map stays small.
func (a *StreamsAdapter) remember(s *wire.Session) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for pid, r := range a.recent {
		if now.Sub(r.at) > recentSessionTTL {
			delete(a.recent, pid)
		}
	}
	a.recent[s.PID] = recentSession{s: *s, at: now}
}

// recall returns (and forgets) a session remembered for pid.
func (a *StreamsAdapter) recall(pid string) *wire.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.recent[pid]
	delete(a.recent, pid)
	if !ok || time.Since(r.at) > recentSessionTTL {
		return nil
	}
	return &r.s
}

// nextOffset is the id right after offset (exclusive ranges need Redis 6.2).
func nextOffset(offset string) string {
	ts, seq, _ := strings.Cut(offset, "-")
	n, _ := strconv.ParseUint(seq, 10, 64)
	return ts + "-" + strconv.FormatUint(n+1, 10)
}

func sessionIncludes(rooms []string, opts *adapter.BroadcastOptions) bool {
	in := len(opts.Rooms) == 0
	for _, r := range rooms {
		for _, x := range opts.Except {
			if r == x {
				return false
			}
		}
		for _, t := range opts.Rooms {
			if r == t {
				in = true
			}
		}
	}
	return in
}
