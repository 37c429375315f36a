package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/redis/rueidis"
)

// ErrClosed is returned by a closed Client.
var ErrClosed = errors.New("redis: client closed")

// Client is the connection of one Socket.IO server to Redis, shared by the
// adapters of all its namespaces. Create one per process (per server): Redis
// counts the servers of a cluster by the connections subscribed to the
// request channel, and all the subscriptions of a Client share one connection
// per Redis node.
type Client struct {
	rc    rueidis.Client
	ownRC bool
	opts  Options

	ctx    context.Context
	cancel context.CancelFunc

	cluster bool // a Redis Cluster: PUBLISH is routed by the channel's slot

	mon *monitor

	mu       sync.Mutex
	adapters map[*Adapter]struct{}
	closed   bool
}

// Stats are counters of a Client (or Streams), since it was made. Each
// counter but Received and RoomSubscriptions counts the Events of one kind.
type Stats struct {
	// Received is the number of messages read from Redis.
	Received uint64
	// Dropped is the number of messages from Redis dropped because a
	// namespace's queue (Options.QueueSize) was full (EventMessageDropped).
	Dropped uint64
	// PublishFailed is the number of messages not published
	// (EventPublishFailed): operations and answers to requests.
	PublishFailed uint64
	// RepliesDropped is the number of answers to requests dropped because
	// the outbox (Options.QueueSize) was full.
	RepliesDropped uint64
	// RepliesTooLarge is the number of answers not sent because they were
	// larger than Options.MaxReplySize (EventReplyTooLarge).
	RepliesTooLarge uint64
	// SubscriberDropped is the number of subscriptions lost
	// (EventSubscriberDropped); Resubscribed the number that came back.
	SubscriberDropped uint64
	Resubscribed      uint64
	// RoomSubscriptions is the number of room channels subscribed now
	// (sharded dynamic modes).
	RoomSubscriptions int64
}

// Dial connects to Redis at url and returns a Client. url is a redis:// (or
// rediss://, unix://) URL as rueidis.ParseURL reads it; for a Redis Cluster
// give one node and list others with ?addr=host:port (cluster mode is
// detected). Dial fails with a clear error when Redis cannot be reached; once
// connected, the Client reconnects and resubscribes on its own.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	co, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: parse url: %w", err)
	}
	co.ClientName = o.ClientName
	co.DisableCache = true
	if co.Dialer.Timeout == 0 {
		co.Dialer.Timeout = 2 * time.Second
	}
	co.Dialer.KeepAlive = 5 * time.Second
	co.ConnWriteTimeout = 5 * time.Second
	// A lost subscription must be seen at once (EventSubscriberDropped):
	// receive resubscribes itself. Every other call is bounded by a deadline.
	co.DisableRetry = true
	rc, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("redis: connect to %s: %w", redactURL(url), err)
	}
	if err := rc.Do(ctx, rc.B().Ping().Build()).Error(); err != nil {
		rc.Close()
		return nil, fmt.Errorf("redis: ping %s: %w", redactURL(url), err)
	}
	c := newClient(rc, o)
	c.ownRC = true
	return c, nil
}

// DialMode is Dial with the mode given as ParseMode reads it ("classic",
// "sharded", "sharded-static", "sharded-dynamic-private"), for command-line
// flags; opts (nil allowed) supplies the other options.
func DialMode(ctx context.Context, url, mode string, opts *Options) (*Client, error) {
	m, sub, err := ParseMode(mode)
	if err != nil {
		return nil, err
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Mode, o.SubscriptionMode = m, sub
	return Dial(ctx, url, &o)
}

// New returns a Client over an existing rueidis client, which Close does not
// close. Use it to share one client between the adapter and other code; keep
// to one Client per server process.
func New(rc rueidis.Client, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return newClient(rc, o), nil
}

func newClient(rc rueidis.Client, o Options) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{rc: rc, opts: o, ctx: ctx, cancel: cancel, adapters: make(map[*Adapter]struct{}),
		cluster: rc.Mode() == rueidis.ClientModeCluster, mon: &monitor{onEvent: o.OnEvent}}
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// UID returns the id of this server on the wire.
func (c *Client) UID() string { return c.opts.UID }

// Stats returns the counters of the Client.
func (c *Client) Stats() Stats {
	return c.mon.stats()
}

// NewAdapter returns the adapter of namespace ns; it is an adapter.Factory:
// pass c.NewAdapter as socketio.ServerOptions.Adapter. It subscribes the
// namespace's channels and waits (at most Options.RequestsTimeout) until Redis
// confirms the subscriptions, so that the other servers count this one.
func (c *Client) NewAdapter(ns adapter.Namespace) (adapter.Adapter, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	c.mu.Unlock()
	a, err := newAdapter(c, ns)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		a.Close(context.Background())
		return nil, ErrClosed
	}
	c.adapters[a] = struct{}{}
	c.mu.Unlock()
	a.start()
	return a, nil
}

var _ adapter.Factory = (*Client)(nil).NewAdapter

// Close closes every adapter of the Client, waits for its goroutines to end,
// and closes the Redis connection when Dial opened it. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	as := make([]*Adapter, 0, len(c.adapters))
	for a := range c.adapters {
		as = append(as, a)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, a := range as {
		a.Close(ctx)
	}
	c.cancel()
	if c.ownRC {
		c.rc.Close()
	}
	return nil
}

func (c *Client) forget(a *Adapter) {
	c.mu.Lock()
	delete(c.adapters, a)
	c.mu.Unlock()
}

// publish sends payload on channel with PUBLISH (classic) or SPUBLISH
// (sharded), waiting at most d. A failure is reported (EventPublishFailed)
// and returned as the cause of a PublishError.
func (c *Client) publish(ctx context.Context, nsp, op, channel string, payload []byte, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := c.rc.Do(ctx, c.publishCmd(channel, payload)).Error(); err != nil {
		err = fmt.Errorf("redis: publish on %s: %w", channel, err)
		c.mon.emit(Event{Kind: EventPublishFailed, Nsp: nsp, Op: op, Channel: channel, Err: err})
		return err
	}
	return nil
}

func (c *Client) publishCmd(channel string, payload []byte) rueidis.Completed {
	if c.opts.Mode == Sharded {
		return c.rc.B().Spublish().Channel(channel).Message(rueidis.BinaryString(payload)).Build()
	}
	cmd := c.rc.B().Publish().Channel(channel).Message(rueidis.BinaryString(payload)).Build()
	if c.cluster {
		// PUBLISH has no key: rueidis would pick any node, and two messages on
		// one channel could overtake each other on the cluster bus. Routing by
		// the channel's slot keeps the order per channel.
		cmd = cmd.SetSlot(channel)
	}
	return cmd
}

// numSub sums PUBSUB NUMSUB (classic) or SHARDNUMSUB (sharded) of channel over
// every Redis node, like Node does in a Redis Cluster.
func (c *Client) numSub(ctx context.Context, channel string) (int, error) {
	// rueidis retries read-only commands until ctx ends: bound the wait.
	ctx, cancel := context.WithTimeout(ctx, c.opts.RequestsTimeout)
	defer cancel()
	nodes := c.rc.Nodes()
	total, ok := 0, false
	var firstErr error
	for _, n := range nodes {
		var cmd rueidis.Completed
		if c.opts.Mode == Sharded {
			cmd = n.B().PubsubShardnumsub().Channel(channel).Build()
		} else {
			cmd = n.B().PubsubNumsub().Channel(channel).Build()
		}
		arr, err := n.Do(ctx, cmd).ToArray()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if len(arr) >= 2 {
			v, err := arr[1].AsInt64()
			if err == nil {
				total += int(v)
				ok = true
			}
		}
	}
	if !ok {
		if firstErr == nil {
			firstErr = errors.New("no redis node answered")
		}
		return 0, fmt.Errorf("redis: server count: %w", firstErr)
	}
	return total, nil
}

// subscription is one long-lived Receive: build makes a fresh subscribe
// command (rueidis recycles built commands), unsub the matching unsubscribe;
// n is the number of channels (or patterns) it subscribes.
type subscription struct {
	build func(b rueidis.Builder) rueidis.Completed
	unsub func(b rueidis.Builder) rueidis.Completed
	n     int
	name  string // for Events
}

// errUnsubscribed is the cause of EventSubscriberDropped when Redis ended a
// subscription itself (a slot migration, CLIENT KILL of the subscription).
var errUnsubscribed = errors.New("redis: subscription ended by the server")

// errResubscribed is the cause of EventSubscriberDropped when the rueidis
// client reconnected and resubscribed on its own (retries enabled).
var errResubscribed = errors.New("redis: connection lost and resubscribed by the client")

// receive runs Receive for s until ctx ends, calling fn on rueidis' read loop
// for every message (fn must not block) and ready after each subscribe
// confirmation. After an unsubscribe (a slot migration) or an error it
// reports EventSubscriberDropped and subscribes again, with a backoff of
// 50 ms doubling to 500 ms, then reports EventResubscribed. On return it
// sends the unsubscribe command when the connection is still usable.
func (c *Client) receive(ctx context.Context, nsp string, s subscription, fn func(rueidis.PubSubMessage), ready func()) {
	backoff := 50 * time.Millisecond
	want := int64(max(s.n, 1))
	var lost atomic.Bool       // a drop was reported; resubscription not confirmed yet
	var confirmed atomic.Int64 // confirmations in this Receive
	hook := func(p rueidis.PubSubSubscription) {
		if !strings.HasSuffix(p.Kind, "subscribe") || strings.HasSuffix(p.Kind, "unsubscribe") {
			return
		}
		ready()
		n := confirmed.Add(1)
		if lost.CompareAndSwap(true, false) {
			c.mon.emit(Event{Kind: EventResubscribed, Nsp: nsp, Channel: s.name})
		} else if n > want && (n-1)%want == 0 {
			// rueidis retried the Receive itself after losing the connection
			c.mon.emit(Event{Kind: EventSubscriberDropped, Nsp: nsp, Channel: s.name, Err: errResubscribed})
			c.mon.emit(Event{Kind: EventResubscribed, Nsp: nsp, Channel: s.name})
		}
	}
	rctx := rueidis.WithOnSubscriptionHook(ctx, hook)
	rctx = rueidis.WithOnReceiveReturnHook(rctx, func(err error, cc rueidis.CommandClient) error {
		if ctx.Err() != nil && s.unsub != nil {
			uctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			cc.Do(uctx, s.unsub(cc.B()))
		}
		return err
	})
	for {
		start := time.Now()
		confirmed.Store(0)
		err := c.rc.Receive(rctx, s.build(c.rc.B()), fn)
		if ctx.Err() != nil {
			return
		}
		if !lost.Load() {
			cause := err
			if cause == nil {
				cause = errUnsubscribed
			}
			lost.Store(true)
			c.mon.emit(Event{Kind: EventSubscriberDropped, Nsp: nsp, Channel: s.name, Err: cause})
		}
		if err == nil && time.Since(start) > time.Second {
			backoff = 50 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if backoff < 500*time.Millisecond {
			backoff *= 2
		}
	}
}
