package parser

import "errors"

// Sentinel kinds of *Error. Test for them with errors.Is.
var (
	ErrEmpty              = errors.New("parser: empty message")
	ErrUnknownType        = errors.New("parser: unknown packet type")
	ErrInvalidAttachments = errors.New("parser: invalid attachment count")
	ErrTooManyAttachments = errors.New("parser: too many attachments")
	ErrInvalidNamespace   = errors.New("parser: invalid namespace")
	ErrInvalidID          = errors.New("parser: invalid ack id")
	ErrSyntax             = errors.New("parser: malformed payload")
	ErrInvalidPayload     = errors.New("parser: invalid payload for the packet type")
	ErrReservedEvent      = errors.New("parser: reserved event name")
	ErrPlaceholder        = errors.New("parser: invalid binary placeholder")
	ErrUnexpectedBinary   = errors.New("parser: binary message without a pending binary packet")
	ErrUnexpectedText     = errors.New("parser: text message while binary attachments are pending")
	ErrUnsupportedValue   = errors.New("parser: unsupported value")
)

// Error is the error returned for a packet that cannot be decoded or encoded.
// Kind is one of the Err* sentinels, and errors.Is(err, Kind) holds.
type Error struct {
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, detail string) *Error { return &Error{Kind: kind, Detail: detail} }
