package helper

import (
	"github.com/corvid-io/corvid/socketio"
)

// Decode decodes argument i of args into a T (like json.Unmarshal; binary
// attachments decode into []byte at any depth). A missing argument is
// socketio.ErrNoArgument. It is socketio.Decode.
func Decode[T any](args socketio.Args, i int) (T, error) {
	return socketio.Decode[T](args, i)
}

// On sets the server-side handler of event on s with its first argument
// decoded into a T (socketio.TypedHandler). When the argument does not
// decode, fn is not called: an acknowledgement, if the client asked for one,
// answers socketio.AckError ({"error": "invalid argument 1"}-style text meant
// for the client), and onErr gets the *socketio.ArgError (when onErr is nil,
// the socket's OnError handlers get it).
func On[T any](s *socketio.Socket, event string, fn func(s *socketio.Socket, v T, ack socketio.AckFunc), onErr func(s *socketio.Socket, err error)) {
	s.On(event, socketio.TypedHandler(event, fn, onErr))
}

// Subscribe sets the client helper's handler of event with its first argument
// decoded into a T (socketio.OnClient). A value that does not decode goes to
// the client's OnError callback instead of fn.
func Subscribe[T any](c *ClientHelper, event string, fn func(v T)) error {
	return c.Subscribe(map[string]socketio.ClientEventHandler{
		event: func(args socketio.Args, _ socketio.AckFunc) {
			v, err := socketio.Decode[T](args, 0)
			if err != nil {
				c.reportError(err)
				return
			}
			fn(v)
		},
	})
}
