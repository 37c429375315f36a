package socketio

// Observer sees the events of a Server's sockets, for metrics
// (ServerOptions.Observer; the Engine.IO layer below has its own,
// engineio.ServerOptions.Observer). Its methods are called synchronously on
// the goroutines that serve the connections and run the operations: they must
// be safe for concurrent use, return quickly and never block nor call back
// into the Server (count with atomics). An unset Observer costs a nil check.
type Observer interface {
	// Connected: a socket joined the namespace nsp (it passed the
	// middlewares; every Connected is followed by one Disconnected).
	Connected(nsp string)
	// Disconnected: a connected socket of nsp left, for reason.
	Disconnected(nsp string, reason DisconnectReason)
	// AckTimedOut: an acknowledgement the server waited for did not come in
	// time (Socket.EmitWithAck at its ctx's deadline, EmitWithCallback's
	// timeout, a broadcast's EmitWithAck).
	AckTimedOut(nsp string)
	// Recovery: a client asked to recover a session of nsp; recovered tells
	// whether it did (false: a miss, the socket starts afresh).
	Recovery(nsp string, recovered bool)
	// AdapterFailed: an adapter operation of nsp failed. op names it, one of
	// a small fixed set: "broadcast", "broadcastWithAck", "serverSideEmit",
	// or the text of a failed join or leave ("joining the recovered rooms",
	// "leaving the rooms", ...).
	// A cluster adapter's failure to publish is an *adapter.PublishError
	// (errors.Is(err, adapter.ErrNotPublished)).
	AdapterFailed(nsp, op string, err error)
}

// Reasons lists every DisconnectReason a server-side socket leaves with.
var Reasons = []DisconnectReason{
	ReasonServerNamespaceDisconnect, ReasonClientNamespaceDisconnect, ReasonServerShuttingDown,
	ReasonPingTimeout, ReasonTransportClose, ReasonTransportError, ReasonParseError,
	ReasonForcedClose, ReasonForcedServerClose, ReasonSlowConsumer, ReasonHandlerPanic,
}

// observeAdapter tells the Observer of a failed adapter operation; it
// returns err.
func (n *Namespace) observeAdapter(op string, err error) error {
	if err != nil {
		if obs := n.srv.opts.Observer; obs != nil {
			obs.AdapterFailed(n.name, op, err)
		}
	}
	return err
}

func (n *Namespace) observeAckTimeout() {
	if obs := n.srv.opts.Observer; obs != nil {
		obs.AckTimedOut(n.name)
	}
}
