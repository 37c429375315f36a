package socketio

import (
	"context"
	"errors"

	"github.com/corvid-io/corvid/parser"
)

// EmitContext is Emit with a context handed to the adapter: ctx bounds what
// the adapter may wait for, such as a cluster adapter's publication to the
// other servers. Whether the local sockets get the event once ctx has ended
// is the adapter's affair: the memory adapter ignores ctx; a cluster adapter
// that delivers locally and then cannot publish in time returns an
// *adapter.PublishError (errors.Is(err, adapter.ErrNotPublished)). With one
// target namespace its adapter's error is returned as it is.
func (b BroadcastOperator) EmitContext(ctx context.Context, event string, args ...any) error {
	if len(b.targets) == 1 {
		n := b.targets[0]
		b.notifyOutgoing(n, event, args)
		return n.broadcast(ctx, &parser.Packet{Type: parser.Event, Namespace: n.name, Event: event, Args: args}, b.opts())
	}
	var errs []error
	for _, n := range b.targets {
		b.notifyOutgoing(n, event, args)
		p := &parser.Packet{Type: parser.Event, Namespace: n.name, Event: event, Args: args}
		if err := n.broadcast(ctx, p, b.opts()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
