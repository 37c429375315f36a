package helper

import (
	"github.com/corvid-io/corvid/socketio"
)

// Decode decodes argument i of args into a T (like json.Unmarshal; binary
// attachments decode into []byte at any depth). A missing argument is
// socketio.ErrNoArgument.
func Decode[T any](args socketio.Args, i int) (T, error) {
	var v T
	err := args.Decode(i, &v)
	return v, err
}

// On sets the server-side handler of event on s with its first argument
// decoded into a T. When the argument does not decode, fn is not called: an
// acknowledgement, if the client asked for one, answers {"error": <text>},
// and onErr (when not nil) gets the error.
func On[T any](s *socketio.Socket, event string, fn func(s *socketio.Socket, v T, ack socketio.AckFunc), onErr func(s *socketio.Socket, err error)) {
	s.On(event, func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		v, err := Decode[T](args, 0)
		if err != nil {
			if ack != nil {
				_ = ack(map[string]string{"error": err.Error()})
			}
			if onErr != nil {
				onErr(s, err)
			}
			return
		}
		fn(s, v, ack)
	})
}

// Subscribe sets the client helper's handler of event with its first argument
// decoded into a T. A value that does not decode goes to the client's OnError
// callback instead of fn.
func Subscribe[T any](c *ClientHelper, event string, fn func(v T)) error {
	return c.Subscribe(map[string]socketio.ClientEventHandler{
		event: func(args socketio.Args, _ socketio.AckFunc) {
			v, err := Decode[T](args, 0)
			if err != nil {
				c.reportError(err)
				return
			}
			fn(v)
		},
	})
}
