package engineio

import "net/http"

// Observer sees the events of a Server, for metrics (ServerOptions.Observer).
// Its methods are called synchronously on the goroutines that serve the
// sessions, some of them with a session's lock held: they must be safe for
// concurrent use, return quickly and never block nor call back into the
// Server or its Sessions (count with atomics; hand anything slower to a
// goroutine of your own). The transport arguments are "polling" or
// "websocket". An unset Observer costs a nil check; Observers combines
// several.
type Observer interface {
	// SessionOpened: a handshake created a session on transport.
	SessionOpened(transport string)
	// SessionClosed: a session closed, for reason (ReasonSlowConsumer for a
	// send queue over its limit), while on transport.
	SessionClosed(transport string, reason Reason)
	// Upgraded: a polling session moved to WebSocket.
	Upgraded()
	// Refused: a request was refused before reaching a session (see Refusal).
	Refused(cause Refusal)
	// MessageIn: a message of size bytes arrived from a client on transport.
	MessageIn(transport string, size int)
	// MessagesOut: n messages of size bytes in all were queued (Send,
	// TrySend) for a client on transport; a send refused for its size is not
	// counted.
	MessagesOut(transport string, n, size int)
}

// Refusal is the cause of a refused request, as an Observer sees it: one of
// the constants below, a small fixed set (fit for a metric label).
type Refusal string

const (
	RefusedUnknownTransport   Refusal = "unknown transport"    // a transport that is disabled or unknown
	RefusedUnknownSession     Refusal = "unknown session"      // a sid the server does not hold
	RefusedBadRequest         Refusal = "bad request"          // a request that matches nothing the protocol allows
	RefusedBadMethod          Refusal = "bad handshake method" // a handshake that is not a GET
	RefusedForbidden          Refusal = "forbidden"            // AllowRequest returned an error
	RefusedOrigin             Refusal = "origin"               // a WebSocket from an Origin CORS does not allow
	RefusedUnsupportedVersion Refusal = "unsupported version"  // EIO other than 4
	RefusedHeaderTooLarge     Refusal = "header too large"     // over MaxHandshakeHeaderBytes (431)
	RefusedTooManySessions    Refusal = "too many sessions"    // MaxSessions
	RefusedHandshakeRate      Refusal = "handshake rate"       // HandshakeRate
	RefusedTooManyIPSessions  Refusal = "too many ip sessions" // MaxSessionsPerIP
	RefusedIPHandshakeRate    Refusal = "ip handshake rate"    // HandshakeRatePerIP
)

// Refusals lists every Refusal, for an Observer that counts them in a table.
var Refusals = []Refusal{
	RefusedUnknownTransport, RefusedUnknownSession, RefusedBadRequest, RefusedBadMethod,
	RefusedForbidden, RefusedOrigin, RefusedUnsupportedVersion, RefusedHeaderTooLarge,
	RefusedTooManySessions, RefusedHandshakeRate, RefusedTooManyIPSessions, RefusedIPHandshakeRate,
}

// Reasons lists every Reason a session closes with.
var Reasons = []Reason{
	ReasonTransportClose, ReasonTransportError, ReasonPingTimeout, ReasonParseError,
	ReasonForcedClose, ReasonServerClose, ReasonSlowConsumer,
}

func transportName(ws bool) string {
	if ws {
		return websocketName
	}
	return pollingName
}

// refuse answers a refused request as writeError does and tells the Observer.
func (srv *Server) refuse(w http.ResponseWriter, upgrade bool, code errorCode, message string, cause Refusal) {
	srv.observeRefused(cause)
	writeError(w, upgrade, code, message)
}

func (srv *Server) observeRefused(cause Refusal) {
	if obs := srv.opts.Observer; obs != nil {
		obs.Refused(cause)
	}
}

// message is the text a refusal for cause carries (admit's causes).
func (cause Refusal) message() string {
	if cause == RefusedHandshakeRate || cause == RefusedIPHandshakeRate {
		return msgTooManyHandshakes
	}
	return msgTooManySessions
}

func (srv *Server) observeIn(transport string, m Message) {
	if obs := srv.opts.Observer; obs != nil {
		obs.MessageIn(transport, len(m.Data))
	}
}

func (srv *Server) observeUpgraded() {
	if obs := srv.opts.Observer; obs != nil {
		obs.Upgraded()
	}
}
