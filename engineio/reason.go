package engineio

// Reason says why a session (or a client connection) was closed. The values are
// the strings npm engine.io uses. A Reason is an error and is the cause of a closed
// session's Context (see context.Cause).
type Reason string

// The close reasons.
const (
	// ReasonTransportClose: the peer closed the transport or sent a close packet.
	ReasonTransportClose Reason = "transport close"
	// ReasonTransportError: the transport failed (read or write error, bad request).
	ReasonTransportError Reason = "transport error"
	// ReasonPingTimeout: no pong arrived within pingTimeout after a ping.
	ReasonPingTimeout Reason = "ping timeout"
	// ReasonParseError: the peer sent a malformed packet or payload.
	ReasonParseError Reason = "parse error"
	// ReasonForcedClose: Close was called on this side.
	ReasonForcedClose Reason = "forced close"
	// ReasonServerClose: Server.Shutdown closed the session.
	ReasonServerClose Reason = "server shutting down"
	// ReasonSlowConsumer: the send queue went over its limit.
	ReasonSlowConsumer Reason = "slow consumer"
)

// Error returns the reason's string.
func (r Reason) Error() string { return string(r) }
