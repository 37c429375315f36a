package socketio

import (
	"context"
	"errors"
	"fmt"
)

// DisconnectReason says why a socket left its namespace. The values are the
// strings of the reference implementation (npm socket.io and socket.io-client);
// it implements error so that it can be the cause of a socket's Context.
type DisconnectReason string

// Reasons seen by the server.
const (
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	ReasonServerShuttingDown        DisconnectReason = "server shutting down"
	ReasonPingTimeout               DisconnectReason = "ping timeout"
	ReasonTransportClose            DisconnectReason = "transport close"
	ReasonTransportError            DisconnectReason = "transport error"
	ReasonParseError                DisconnectReason = "parse error"
	ReasonForcedClose               DisconnectReason = "forced close"
	ReasonForcedServerClose         DisconnectReason = "forced server close"
	// ReasonSlowConsumer is ours: the socket's send queue went over its limit.
	ReasonSlowConsumer DisconnectReason = "slow consumer"
)

// Reasons seen by the client.
const (
	ReasonIOServerDisconnect DisconnectReason = "io server disconnect"
	ReasonIOClientDisconnect DisconnectReason = "io client disconnect"
)

func (r DisconnectReason) Error() string { return string(r) }

// Args are the arguments of a received event or acknowledgement. Each element is
// a parser.Value whose conversion to Go is deferred until Decode is called.
type Args []any

// Len returns the number of arguments.
func (a Args) Len() int { return len(a) }

// Decode decodes argument i into v, like json.Unmarshal. Binary attachments decode
// into []byte (at any depth). An argument that is not a received parser.Value
// (an answer relayed by an adapter from another server, see
// Namespace.ServerSideEmitWithAck) is stored directly when v is a *any or
// points to its type, and converted through JSON otherwise.
//
// The generic Decode returns the value instead; On and TypedHandler decode
// an event's argument before calling a typed handler.
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a) {
		return fmt.Errorf("socketio: argument %d of %d: %w", i, len(a), ErrNoArgument)
	}
	return decodeValue(a[i], v)
}

// ErrNoArgument is returned by Args.Decode for an index past the arguments.
var ErrNoArgument = errors.New("no such argument")

// AckFunc answers an event that asked for an acknowledgement. It is nil when the
// sender asked for none. Calling it more than once sends nothing after the first.
type AckFunc func(args ...any) error

// ConnectError is the payload of a CONNECT_ERROR packet: the message and optional
// data of a refused namespace connection. Middleware returns it (or any error,
// whose Error() becomes the message) to refuse a connection.
//
// On the client, a ConnectError reported for a failed connection attempt
// (ClientSocket.OnConnectError) keeps that attempt's error as Cause.
type ConnectError struct {
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
	// Cause is the error of a failed connection attempt on the client side
	// (nil for a refusal by the server); it is never sent.
	Cause error `json:"-"`
}

func (e *ConnectError) Error() string { return e.Message }

// Unwrap returns Cause.
func (e *ConnectError) Unwrap() error { return e.Cause }

// ReasonHandlerPanic is ours: a user handler of the connection panicked; the
// panic was recovered and logged, and the connection closed.
const ReasonHandlerPanic DisconnectReason = "handler panic"

// cowAppend returns list with v added, never writing into list's backing
// array: handler lists are copied on write, so a dispatcher holding the old
// slice (taken under the lock) keeps a stable view without locking.
func cowAppend[T any](list []T, v T) []T {
	return append(list[:len(list):len(list)], v)
}

// ackWaitErr is the error of an acknowledgement wait ended by ctx: when its
// deadline passed, an error that is both ErrAckTimeout and
// context.DeadlineExceeded (errors.Is), with ErrAckTimeout's text, on the
// server and on the client alike; otherwise ctx's error.
func ackWaitErr(ctx context.Context) error {
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return ackDeadline{}
}

type ackDeadline struct{}

func (ackDeadline) Error() string { return ErrAckTimeout.Error() }

func (ackDeadline) Is(target error) bool {
	return target == ErrAckTimeout || target == context.DeadlineExceeded
}
