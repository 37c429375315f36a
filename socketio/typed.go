package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"

	"github.com/corvid-io/corvid/parser"
)

// Typed handlers: the generic forms of the common handlers, so that event
// arguments, the auth payload and socket data arrive as Go types without a
// type assertion. The untyped forms (Socket.On with an EventHandler, Args,
// Socket.Data) stay for catch-all code.

// Decode decodes argument i of args into a T, like Args.Decode. A missing
// argument is an error wrapping ErrNoArgument.
func Decode[T any](args Args, i int) (T, error) {
	var v T
	err := args.Decode(i, &v)
	return v, err
}

// ArgError is the error of an event argument that did not decode into the
// type a typed handler asked for. Error() keeps the Go detail for the server's
// logs and OnError handlers; ClientMessage is what the peer is told.
type ArgError struct {
	Event string // the event name
	Index int    // the argument's index, from 0
	Err   error  // the decoding error (wraps ErrNoArgument for a missing one)
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("socketio: event %q argument %d: %v", e.Event, e.Index, e.Err)
}

func (e *ArgError) Unwrap() error { return e.Err }

// ClientMessage is the text sent to the peer in place of the Go error: it
// counts arguments from 1 and names the JSON type a field should have, never a
// Go type: "missing argument 1", "invalid argument 1", or `invalid argument
// 1: "room" must be a string`.
func (e *ArgError) ClientMessage() string {
	n := strconv.Itoa(e.Index + 1)
	if errors.Is(e.Err, ErrNoArgument) {
		return "missing argument " + n
	}
	var te *json.UnmarshalTypeError
	if errors.As(e.Err, &te) && te.Type != nil {
		if kind := jsonKind(te.Type); kind != "" {
			if te.Field != "" {
				return "invalid argument " + n + ": " + strconv.Quote(te.Field) + " must be " + kind
			}
			return "invalid argument " + n + ": must be " + kind
		}
	}
	return "invalid argument " + n
}

// jsonKind names the JSON type a Go type decodes from, with its article.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "binary"
		}
		return "an array"
	}
	return ""
}

// AckError is the acknowledgement a typed handler sends when the event's
// argument did not decode: {"error": ClientMessage}.
type AckError struct {
	Error string `json:"error"`
}

// TypedHandler returns an EventHandler that decodes the event's first
// argument into a T and calls h with it. When it does not decode, h is not
// called: the acknowledgement, if the client asked for one, answers
// AckError{ClientMessage} (for example {"error":"invalid argument 1"}), and the
// *ArgError goes to onErr, or, when onErr is nil, to the socket's OnError
// handlers.
func TypedHandler[T any](event string, h func(s *Socket, v T, ack AckFunc), onErr ErrorHandler) EventHandler {
	return func(s *Socket, args Args, ack AckFunc) {
		var v T
		if err := args.Decode(0, &v); err != nil {
			ae := &ArgError{Event: event, Index: 0, Err: err}
			if ack != nil {
				_ = ack(AckError{ae.ClientMessage()}) // nothing to do when the socket left
			}
			if onErr != nil {
				onErr(s, ae)
			} else {
				for _, eh := range s.hooksCopy().onErr {
					eh(s, ae)
				}
			}
			return
		}
		h(s, v, ack)
	}
}

// On sets the handler of event on s with its first argument decoded into a T
// (see TypedHandler; a decoding error goes to s's OnError handlers). It
// replaces any earlier handler of event, like Socket.On.
func On[T any](s *Socket, event string, h func(s *Socket, v T, ack AckFunc)) {
	s.On(event, TypedHandler(event, h, nil))
}

// OnClient sets the handler of event on the client socket c with its first
// argument decoded into a T. When it does not decode, h is not called: the
// acknowledgement, if the server asked for one, answers AckError, and the
// *ArgError goes to onErr when it is not nil.
func OnClient[T any](c *ClientSocket, event string, h func(v T, ack AckFunc), onErr func(err error)) {
	c.On(event, func(args Args, ack AckFunc) {
		var v T
		if err := args.Decode(0, &v); err != nil {
			ae := &ArgError{Event: event, Index: 0, Err: err}
			if ack != nil {
				_ = ack(AckError{ae.ClientMessage()}) // nothing to do when disconnected
			}
			if onErr != nil {
				onErr(ae)
			}
			return
		}
		h(v, ack)
	})
}

// ErrNoAuth is returned by Auth when the client sent no auth payload.
var ErrNoAuth = errors.New("socketio: no auth payload")

// Auth decodes the auth payload of s's CONNECT (Handshake().Auth) into a T.
// It returns ErrNoAuth when the client sent none.
func Auth[T any](s *Socket) (T, error) {
	var v T
	a := s.Handshake().Auth
	if a == nil {
		return v, ErrNoAuth
	}
	err := decodeValue(a, &v)
	return v, err
}

// AuthMiddleware returns a connect Middleware that decodes the auth payload
// into a T and calls check with it; a client that sent none gets the zero T.
// A payload that does not decode refuses the connection with the message
// "invalid auth payload" without calling check. check's error refuses it as
// any Middleware's does (return a *ConnectError to send data).
func AuthMiddleware[T any](check func(s *Socket, auth T) error) Middleware {
	return func(s *Socket) error {
		auth, err := Auth[T](s)
		if err != nil && !errors.Is(err, ErrNoAuth) {
			return &ConnectError{Message: "invalid auth payload"}
		}
		return check(s, auth)
	}
}

// Data returns s's user data (Socket.SetData) as a T, and false when it is
// unset or of another type.
func Data[T any](s *Socket) (T, bool) {
	v, ok := s.Data().(T)
	return v, ok
}

// RemoteData decodes the user data of a socket returned by FetchSockets into a
// T: the value itself for a local socket that holds a T, otherwise through its
// serialised form (the data of a socket of another server arrives as a
// decoded JSON or msgpack tree).
func RemoteData[T any](r *RemoteSocket) (T, error) {
	if v, ok := r.Data.(T); ok {
		return v, nil
	}
	var v T
	if r.Data == nil {
		return v, nil
	}
	err := decodeValue(r.Data, &v)
	return v, err
}

// decodeValue stores v in dst: a parser.Value decodes itself; any other value
// (a Go value, or a tree an adapter relayed from another server) is stored
// directly when dst is a *any or has its type, and otherwise converted through
// JSON.
func decodeValue(v any, dst any) error {
	if val, ok := v.(parser.Value); ok {
		return val.Decode(dst)
	}
	if p, ok := dst.(*any); ok {
		*p = v
		return nil
	}
	if rv := reflect.ValueOf(dst); rv.Kind() == reflect.Pointer && !rv.IsNil() && v != nil {
		if sv := reflect.ValueOf(v); sv.Type().AssignableTo(rv.Elem().Type()) {
			rv.Elem().Set(sv)
			return nil
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}
