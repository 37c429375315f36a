package redis

import (
	"context"
	"time"

	"github.com/redis/rueidis"
)

// outMsg is an answer waiting in an outbox.
type outMsg struct {
	op      string
	channel string
	payload []byte
}

// outbox is the bounded queue of the answers one namespace publishes to
// other servers' requests, from callers that must not wait for Redis (a
// socket's ack callback, the handler of a request). One goroutine (run)
// publishes them, pipelining what is queued in one round trip.
type outbox struct {
	ch      chan outMsg
	mon     *monitor
	nsp     string
	maxSize int
	timeout time.Duration
	rc      rueidis.Client
	cmd     func(outMsg) rueidis.Completed
}

// newOutbox holds size answers of at most maxSize bytes, each published with
// cmd on rc within timeout.
func newOutbox(mon *monitor, nsp string, size, maxSize int, timeout time.Duration, rc rueidis.Client,
	cmd func(outMsg) rueidis.Completed) *outbox {
	return &outbox{ch: make(chan outMsg, size), mon: mon, nsp: nsp, maxSize: maxSize, timeout: timeout, rc: rc, cmd: cmd}
}

// refusal makes the answer sent in place of one of size bytes, over the
// limit: an answer with an empty list and wire.TooLarge.
type refusal func(size, limit int) ([]byte, error)

// put queues an answer; it never blocks. An answer larger than MaxReplySize
// is not sent (EventReplyTooLarge): refuse, when not nil, makes the small
// answer queued instead, which tells the requester; a full outbox drops it
// (EventMessageDropped, Op "reply").
func (o *outbox) put(op, channel string, payload []byte, refuse refusal) {
	if len(payload) > o.maxSize {
		o.mon.emit(Event{Kind: EventReplyTooLarge, Nsp: o.nsp, Op: op, Channel: channel, Size: len(payload)})
		if refuse == nil {
			return
		}
		var err error
		if payload, err = refuse(len(payload), o.maxSize); err != nil {
			return
		}
	}
	select {
	case o.ch <- outMsg{op, channel, payload}:
	default:
		o.mon.emit(Event{Kind: EventMessageDropped, Nsp: o.nsp, Op: "reply", Channel: channel})
	}
}

// run publishes the queued answers until ctx ends; those not published are
// reported (EventPublishFailed).
func (o *outbox) run(ctx context.Context) {
	var batch []outMsg
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-o.ch:
			batch = append(batch[:0], m)
		}
	drain:
		for len(batch) < 64 {
			select {
			case m := <-o.ch:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		cmds := make(rueidis.Commands, 0, len(batch))
		for _, m := range batch {
			cmds = append(cmds, o.cmd(m))
		}
		tctx, cancel := context.WithTimeout(ctx, o.timeout)
		res := o.rc.DoMulti(tctx, cmds...)
		cancel()
		for i, r := range res {
			if err := r.Error(); err != nil && ctx.Err() == nil {
				o.mon.emit(Event{Kind: EventPublishFailed, Nsp: o.nsp, Op: batch[i].op, Channel: batch[i].channel, Err: err})
			}
		}
		clear(batch)
	}
}
