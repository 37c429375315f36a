package helper

import (
	"errors"
	"time"
)

// Event names and default rooms of the helper protocol. They are those of the
// seed (@venizia/ignis-helpers), so its JavaScript helpers interoperate.
const (
	EventAuthenticate    = "authenticate"    // client -> server, optional payload
	EventAuthenticated   = "authenticated"   // server -> client, {id, time}
	EventUnauthenticated = "unauthenticated" // server -> client, {message, time}
	EventPing            = "ping"            // server -> client, {time}
	EventJoin            = "join"            // client -> server, {rooms: [...]}
	EventLeave           = "leave"           // client -> server, {rooms: [...]}

	RoomDefault      = "io-default"
	RoomNotification = "io-notification"
)

// Defaults of ServerOptions.
const (
	DefaultAuthenticateTimeout = 10 * time.Second
	DefaultPingInterval        = 30 * time.Second
	// DefaultUserRoomPrefix prefixes the room of a user (UserRoom).
	DefaultUserRoomPrefix = "user:"
	// DefaultPublishTimeout bounds the publication of Send and Broadcast to
	// the other nodes (ServerOptions.PublishTimeout).
	DefaultPublishTimeout = time.Second
)

// Messages of the unauthenticated event (the seed's wording).
const (
	MessageInvalidCredentials = "invalid token, please log in again"
	MessageAuthFailed         = "failed to authenticate connection, please log in again"
)

// State is the authentication state of a socket, on the server and in the
// client helper.
type State int

// The states, in the order a socket goes through them.
const (
	StateUnauthorized State = iota
	StateAuthenticating
	StateAuthenticated
)

// String returns the seed's name of the state.
func (s State) String() string {
	switch s {
	case StateUnauthorized:
		return "unauthorized"
	case StateAuthenticating:
		return "authenticating"
	case StateAuthenticated:
		return "authenticated"
	}
	return "invalid"
}

// ParseState returns the State named s (as String writes it).
func ParseState(s string) (State, bool) {
	switch s {
	case "unauthorized":
		return StateUnauthorized, true
	case "authenticating":
		return StateAuthenticating, true
	case "authenticated":
		return StateAuthenticated, true
	}
	return StateUnauthorized, false
}

// Errors of the helpers.
var (
	// ErrClosed is returned by a helper after Shutdown (server) or Close (client).
	ErrClosed = errors.New("helper: closed")
	// ErrNotConnected is returned by client calls that need a connection.
	ErrNotConnected = errors.New("helper: not connected")
	// ErrEmptyTopic is returned for an empty event name.
	ErrEmptyTopic = errors.New("helper: empty topic")
	// ErrReservedTopic is returned for an event name Socket.IO reserves
	// (connect, disconnect, ...).
	ErrReservedTopic = errors.New("helper: reserved topic")
	// ErrNoDestination is returned by Send for an empty Destination.
	ErrNoDestination = errors.New("helper: empty destination")
)

// AuthError refuses an authentication. Its Message is sent to the client in
// the unauthenticated event; an AuthenticateFunc returns it to choose that
// message (any other error sends MessageAuthFailed and keeps its text on the
// server). The client helper returns it from Authenticate.
type AuthError struct {
	Message string
}

func (e *AuthError) Error() string { return "helper: unauthenticated: " + e.Message }

// reserved are the event names a Socket.IO application cannot emit.
func reserved(topic string) bool {
	switch topic {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

func checkTopic(topic string) error {
	if topic == "" {
		return ErrEmptyTopic
	}
	if reserved(topic) {
		return ErrReservedTopic
	}
	return nil
}

// isoTime formats t as JavaScript's Date.prototype.toISOString does.
func isoTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// AuthenticatedEvent is the payload of the authenticated event.
type AuthenticatedEvent struct {
	ID   string `json:"id"`
	Time string `json:"time"`
}

// UnauthenticatedEvent is the payload of the unauthenticated event.
type UnauthenticatedEvent struct {
	Message string `json:"message"`
	Time    string `json:"time"`
}

// PingEvent is the payload of the app-level ping event.
type PingEvent struct {
	Time string `json:"time"`
}

// RoomsRequest is the payload of the join and leave events.
type RoomsRequest struct {
	Rooms []string `json:"rooms"`
}
