package metrics

import (
	"errors"
	"expvar"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/engineio"
	"github.com/corvid-io/corvid/socketio"
)

// Other is the label value counting what no known value names (a Reason or
// event kind from a later version, say).
const Other = "other"

// transports are the label values of the per-transport counters.
var transports = []string{"polling", "websocket"}

// redisKinds are the kinds of adapter/redis Events (EventKind.String()).
var redisKinds = []string{"subscriber dropped", "resubscribed", "publish failed", "message dropped", "reply too large"}

// Counters counts what a Server's observers see, with atomic counters: it
// implements engineio.Observer and socketio.Observer (set it as both
// engineio.ServerOptions.Observer, through socketio.ServerOptions.Engine, and
// socketio.ServerOptions.Observer), and RedisEvent takes the Events of
// adapter/redis. Its memory is fixed: counters are kept per transport, per
// reason and per cause, never per namespace, socket or client. Counters may be
// shared by several servers. Create one with NewCounters.
type Counters struct {
	opened, closedOn  []atomic.Int64 // by transport
	closed            []atomic.Int64 // by engineio reason, then Other
	upgrades          atomic.Int64
	refused           []atomic.Int64 // by cause, then Other
	msgsIn, bytesIn   []atomic.Int64 // by transport
	msgsOut, bytesOut []atomic.Int64

	connects      atomic.Int64
	disconnects   []atomic.Int64 // by socketio reason, then Other
	ackTimeouts   atomic.Int64
	recovered     atomic.Int64
	missed        atomic.Int64
	publishFailed atomic.Int64   // adapter failures that are *adapter.PublishError
	adapterFailed atomic.Int64   // the others
	redis         []atomic.Int64 // by kind, then Other
}

// NewCounters returns Counters at zero.
func NewCounters() *Counters {
	n := len(transports)
	return &Counters{
		opened:      make([]atomic.Int64, n),
		closedOn:    make([]atomic.Int64, n),
		closed:      make([]atomic.Int64, len(engineio.Reasons)+1),
		refused:     make([]atomic.Int64, len(engineio.Refusals)+1),
		msgsIn:      make([]atomic.Int64, n),
		bytesIn:     make([]atomic.Int64, n),
		msgsOut:     make([]atomic.Int64, n),
		bytesOut:    make([]atomic.Int64, n),
		disconnects: make([]atomic.Int64, len(socketio.Reasons)+1),
		redis:       make([]atomic.Int64, len(redisKinds)+1),
	}
}

var (
	_ engineio.Observer = (*Counters)(nil)
	_ socketio.Observer = (*Counters)(nil)
)

// index returns the position of v in list, len(list) when absent (Other).
func index[T ~string](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return len(list)
}

// tr is the index of a transport ("websocket" or, for anything else, "polling").
func tr(transport string) int {
	if transport == "websocket" {
		return 1
	}
	return 0
}

// SessionOpened implements engineio.Observer.
func (c *Counters) SessionOpened(transport string) { c.opened[tr(transport)].Add(1) }

// SessionClosed implements engineio.Observer.
func (c *Counters) SessionClosed(transport string, reason engineio.Reason) {
	c.closedOn[tr(transport)].Add(1)
	c.closed[index(engineio.Reasons, reason)].Add(1)
}

// Upgraded implements engineio.Observer.
func (c *Counters) Upgraded() { c.upgrades.Add(1) }

// Refused implements engineio.Observer.
func (c *Counters) Refused(cause engineio.Refusal) { c.refused[index(engineio.Refusals, cause)].Add(1) }

// MessageIn implements engineio.Observer.
func (c *Counters) MessageIn(transport string, size int) {
	t := tr(transport)
	c.msgsIn[t].Add(1)
	c.bytesIn[t].Add(int64(size))
}

// MessagesOut implements engineio.Observer.
func (c *Counters) MessagesOut(transport string, n, size int) {
	t := tr(transport)
	c.msgsOut[t].Add(int64(n))
	c.bytesOut[t].Add(int64(size))
}

// Connected implements socketio.Observer.
func (c *Counters) Connected(string) { c.connects.Add(1) }

// Disconnected implements socketio.Observer.
func (c *Counters) Disconnected(_ string, reason socketio.DisconnectReason) {
	c.disconnects[index(socketio.Reasons, reason)].Add(1)
}

// AckTimedOut implements socketio.Observer.
func (c *Counters) AckTimedOut(string) { c.ackTimeouts.Add(1) }

// Recovery implements socketio.Observer.
func (c *Counters) Recovery(_ string, recovered bool) {
	if recovered {
		c.recovered.Add(1)
	} else {
		c.missed.Add(1)
	}
}

// AdapterFailed implements socketio.Observer: a failure to publish
// (*adapter.PublishError) is counted apart from the others.
func (c *Counters) AdapterFailed(_, _ string, err error) {
	if errors.Is(err, adapter.ErrNotPublished) {
		c.publishFailed.Add(1)
	} else {
		c.adapterFailed.Add(1)
	}
}

// RedisEvent counts an Event of adapter/redis by its kind; wire it with
//
//	redis.Options{OnEvent: func(e redis.Event) { counters.RedisEvent(e.Kind) }}
//
// (This package does not import adapter/redis, so that using it pulls no
// Redis client in.)
func (c *Counters) RedisEvent(kind fmt.Stringer) {
	c.redis[index(redisKinds, kind.String())].Add(1)
}

// Value is one labelled value of a Metric.
type Value struct {
	Label string // the label's value; "" when the Metric has no label
	N     int64
}

// Metric is one metric of a Counters, as Metrics reports it, in a form that
// exporters (Prometheus, OpenTelemetry) translate directly.
type Metric struct {
	// Name is a snake_case name without prefix nor unit suffix, such as
	// "engineio_sessions_opened"; exporters add their prefix ("corvid_") and
	// conventions ("_total").
	Name string
	Help string
	// Gauge: the value goes up and down (otherwise it is a monotonic counter).
	Gauge bool
	// LabelName names the one label of Values, "" when none.
	LabelName string
	// Values holds one Value per label value (every known value, zeros
	// included, then Other), or a single unlabelled Value.
	Values []Value
}

func labelled[T ~string](names []T, cs []atomic.Int64) []Value {
	vs := make([]Value, len(cs))
	for i := range cs {
		l := Other
		if i < len(names) {
			l = string(names[i])
		}
		vs[i] = Value{Label: l, N: cs[i].Load()}
	}
	return vs
}

func sum(cs []atomic.Int64) int64 {
	var n int64
	for i := range cs {
		n += cs[i].Load()
	}
	return n
}

// Metrics returns the current values, always the same metrics in the same
// order. Each value is read atomically; the set is not one snapshot (a
// counter read later may count an event newer than one read before).
func (c *Counters) Metrics() []Metric {
	one := func(n int64) []Value { return []Value{{N: n}} }
	openSockets := c.connects.Load() - sum(c.disconnects)
	return []Metric{
		{Name: "engineio_sessions_opened", Help: "Engine.IO sessions opened, by transport of the handshake.", LabelName: "transport", Values: labelled(transports, c.opened)},
		{Name: "engineio_sessions_closed", Help: "Engine.IO sessions closed, by reason.", LabelName: "reason", Values: labelled(engineio.Reasons, c.closed)},
		{Name: "engineio_sessions_open", Help: "Engine.IO sessions open, by transport.", Gauge: true, LabelName: "transport", Values: c.open()},
		{Name: "engineio_upgrades", Help: "Engine.IO sessions upgraded from polling to WebSocket.", Values: one(c.upgrades.Load())},
		{Name: "engineio_refused", Help: "Engine.IO requests refused, by cause.", LabelName: "cause", Values: labelled(engineio.Refusals, c.refused)},
		{Name: "engineio_messages_in", Help: "Engine.IO messages received, by transport.", LabelName: "transport", Values: labelled(transports, c.msgsIn)},
		{Name: "engineio_bytes_in", Help: "Bytes of Engine.IO messages received (payload, without framing), by transport.", LabelName: "transport", Values: labelled(transports, c.bytesIn)},
		{Name: "engineio_messages_out", Help: "Engine.IO messages queued for sending, by transport.", LabelName: "transport", Values: labelled(transports, c.msgsOut)},
		{Name: "engineio_bytes_out", Help: "Bytes of Engine.IO messages queued for sending (payload, without framing), by transport.", LabelName: "transport", Values: labelled(transports, c.bytesOut)},
		{Name: "socketio_connects", Help: "Socket.IO sockets connected to a namespace.", Values: one(c.connects.Load())},
		{Name: "socketio_disconnects", Help: "Socket.IO sockets disconnected, by reason.", LabelName: "reason", Values: labelled(socketio.Reasons, c.disconnects)},
		{Name: "socketio_sockets_connected", Help: "Socket.IO sockets connected now.", Gauge: true, Values: one(openSockets)},
		{Name: "socketio_ack_timeouts", Help: "Acknowledgements the server waited for in vain.", Values: one(c.ackTimeouts.Load())},
		{Name: "socketio_recoveries", Help: "Connection state recoveries asked for, by result.", LabelName: "result", Values: []Value{{Label: "recovered", N: c.recovered.Load()}, {Label: "missed", N: c.missed.Load()}}},
		{Name: "socketio_adapter_failures", Help: "Adapter operations that failed, by kind (publish: a cluster publication that did not go out).", LabelName: "kind", Values: []Value{{Label: "publish", N: c.publishFailed.Load()}, {Label: Other, N: c.adapterFailed.Load()}}},
		{Name: "redis_events", Help: "Events of the Redis adapter (drops, resubscribes, failed publications), by kind.", LabelName: "kind", Values: labelled(redisKinds, c.redis)},
	}
}

// open is opened - closed per transport; a session that upgraded is counted
// as opened on polling and closed on websocket, hence the correction.
func (c *Counters) open() []Value {
	up := c.upgrades.Load()
	return []Value{
		{Label: transports[0], N: c.opened[0].Load() - c.closedOn[0].Load() - up},
		{Label: transports[1], N: c.opened[1].Load() - c.closedOn[1].Load() + up},
	}
}

// Map returns the metrics as a map from name to label value to value ("" for
// an unlabelled metric): the form Publish exposes through expvar.
func (c *Counters) Map() map[string]map[string]int64 {
	ms := c.Metrics()
	out := make(map[string]map[string]int64, len(ms))
	for _, m := range ms {
		vs := make(map[string]int64, len(m.Values))
		for _, v := range m.Values {
			vs[v.Label] = v.N
		}
		out[m.Name] = vs
	}
	return out
}

var publishMu sync.Mutex

// ErrPublished is returned by Publish for a name expvar already has.
var ErrPublished = errors.New("metrics: expvar name already published")

// Publish exposes the counters through expvar under name (served as JSON by
// expvar's handler, /debug/vars), as Map's value. expvar cannot unpublish: a
// name already taken, by this package or another, returns ErrPublished
// instead of panicking as expvar.Publish would.
func (c *Counters) Publish(name string) error {
	publishMu.Lock()
	defer publishMu.Unlock()
	if expvar.Get(name) != nil {
		return fmt.Errorf("%w: %q", ErrPublished, name)
	}
	expvar.Publish(name, expvar.Func(func() any { return c.Map() }))
	return nil
}
