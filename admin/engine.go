package admin

import (
	"sync/atomic"

	"github.com/corvid-io/corvid/engineio"
)

// EngineObserver is an engineio.Observer that counts, for the admin UI's
// aggregatedEvents, what the reference counts on the Engine.IO connections:
// rawConnection and rawDisconnection (subType the Engine.IO close reason),
// packetsIn and packetsOut (Engine.IO messages) and bytesIn and bytesOut
// (their sizes). Set it as the server's Engine.IO observer before creating
// the server, and as Options.Engine:
//
//	obs := admin.NewEngineObserver()
//	srv := socketio.NewServer(&socketio.ServerOptions{
//		Engine: &engineio.ServerOptions{Observer: obs},
//	})
//	adm, err := admin.Instrument(srv, &admin.Options{Engine: obs, ...})
//
// With another observer (metrics.Counters), combine them with
// engineio.Observers. Counting is a few atomic additions, no allocation;
// the counts are folded into aggregatedEvents, under the second each
// server_stats is built, every StatsInterval. One EngineObserver serves one
// Admin.
type EngineObserver struct {
	opened     atomic.Int64
	packetsIn  atomic.Int64
	bytesIn    atomic.Int64
	packetsOut atomic.Int64
	bytesOut   atomic.Int64
	// closed counts the sessions closed by reason, in the order of
	// engineio.Reasons; the last slot is any other reason.
	closed []atomic.Int64
}

var _ engineio.Observer = (*EngineObserver)(nil)

// reasonIndex maps each engineio.Reason to its slot in EngineObserver.closed.
var reasonIndex = func() map[engineio.Reason]int {
	m := make(map[engineio.Reason]int, len(engineio.Reasons))
	for i, r := range engineio.Reasons {
		m[r] = i
	}
	return m
}()

// NewEngineObserver returns an EngineObserver with every count at zero.
func NewEngineObserver() *EngineObserver {
	return &EngineObserver{closed: make([]atomic.Int64, len(engineio.Reasons)+1)}
}

// SessionOpened implements engineio.Observer.
func (o *EngineObserver) SessionOpened(string) { o.opened.Add(1) }

// SessionClosed implements engineio.Observer.
func (o *EngineObserver) SessionClosed(_ string, reason engineio.Reason) {
	i, ok := reasonIndex[reason]
	if !ok {
		i = len(o.closed) - 1
	}
	o.closed[i].Add(1)
}

// Upgraded implements engineio.Observer.
func (o *EngineObserver) Upgraded() {}

// Refused implements engineio.Observer.
func (o *EngineObserver) Refused(engineio.Refusal) {}

// MessageIn implements engineio.Observer.
func (o *EngineObserver) MessageIn(_ string, size int) {
	o.packetsIn.Add(1)
	o.bytesIn.Add(int64(size))
}

// MessagesOut implements engineio.Observer.
func (o *EngineObserver) MessagesOut(_ string, n, size int) {
	o.packetsOut.Add(int64(n))
	o.bytesOut.Add(int64(size))
}

// foldLocked moves the counts since the last call into a's aggregated
// events of the second ts (a.mu held).
func (o *EngineObserver) foldLocked(a *Admin, ts int64) {
	a.addLocked(ts, "rawConnection", "", o.opened.Swap(0))
	for i := range o.closed {
		reason := "" // a reason engineio.Reasons does not list
		if i < len(engineio.Reasons) {
			reason = string(engineio.Reasons[i])
		}
		a.addLocked(ts, "rawDisconnection", reason, o.closed[i].Swap(0))
	}
	a.addLocked(ts, "packetsIn", "", o.packetsIn.Swap(0))
	a.addLocked(ts, "packetsOut", "", o.packetsOut.Swap(0))
	a.addLocked(ts, "bytesIn", "", o.bytesIn.Swap(0))
	a.addLocked(ts, "bytesOut", "", o.bytesOut.Swap(0))
}
