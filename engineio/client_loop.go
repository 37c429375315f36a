package engineio

import (
	"context"
	"slices"
	"time"

	"github.com/coder/websocket"
)

// clientEvent is what the transport goroutines report to the connection's loop.
type clientEvent struct {
	kind   clientEventKind
	packet Packet          // evPacket: a control packet (ping, close, ...)
	err    error           // evWriteDone, evTransportError
	reason Reason          // evTransportError
	pkts   []Packet        // evWriteDone: the batch, returned for reuse
	ws     *websocket.Conn // evProbe: the probed websocket on success
}

type clientEventKind uint8

const (
	evPacket         clientEventKind = iota // a control packet arrived
	evPollDone                              // a poll ended and its messages were delivered
	evWriteDone                             // the writer finished a job
	evTransportError                        // a read failed, or the server sent close
	evProbe                                 // the websocket probe ended (ws set on success)
)

// clientWriteJob is one batch for the writer: written on ws, or POSTed when ws is nil.
type clientWriteJob struct {
	ws   *websocket.Conn
	pkts []Packet
}

// clientLoop is the state of one connection, owned by its run goroutine: the
// transport, the poll and write in flight, the upgrade, the heartbeat and closing.
type clientLoop struct {
	c  *Conn
	ws *websocket.Conn // the websocket transport, nil while polling

	pollInFlight bool
	writeBusy    bool
	spare        []Packet // the batch buffer when no write is in flight
	ctrl         []Packet // control packets waiting to be written (pong, upgrade)

	probing  bool            // a websocket probe is running
	probeWS  *websocket.Conn // the probed websocket, waiting for polling to pause
	upgraded bool            // polling has been left for websocket
	// pollHeld: a poll answered a noop while probing, which the server sends
	// only to release the poll for the upgrade. As the reference client pauses
	// polling on the probe's answer, no new poll starts until the probe ends:
	// that poll would wait for data (up to the server's ping) while the upgrade
	// waits for it to end. The noop may arrive before the loop hears of "3probe".
	pollHeld bool

	closing   bool // Close was called: write what is queued, then a close packet
	closeSent bool
}

func (l *clientLoop) run(rest []byte) {
	c := l.c
	var heartbeat <-chan time.Time
	var hbTimer *time.Timer
	if c.hbPeriod > 0 {
		hbTimer = time.NewTimer(c.hbPeriod)
		defer hbTimer.Stop()
		heartbeat = hbTimer.C
	}
	var closeDeadline <-chan time.Time
	closeReq := c.closeReq

	if l.ws != nil {
		l.upgraded = true
		c.wg.Add(1)
		go c.readWebSocket(l.ws)
	} else {
		l.startPoll(rest)
		if l.shouldUpgrade() {
			l.probing = true
			c.wg.Add(1)
			go c.probe()
		}
	}

	reason, cause, graceful := Reason(""), error(nil), false
loop:
	for {
		select {
		case ev := <-c.events:
			switch ev.kind {
			case evPacket:
				switch ev.packet.Type {
				case PacketPing:
					if hbTimer != nil {
						hbTimer.Reset(c.hbPeriod)
					}
					l.ctrl = append(l.ctrl, Packet{Type: PacketPong, Data: ev.packet.Data})
				case PacketNoop:
					if l.probing && l.ws == nil {
						l.pollHeld = true
					}
				case PacketClose:
					reason, graceful = ReasonTransportClose, false
					if l.closeSent { // our own close, answered
						reason = ReasonForcedClose
					}
					break loop
				}
				// noop, pong and anything else unexpected from the server are ignored
			case evPollDone:
				l.pollInFlight = false
				if l.ws == nil && l.probeWS == nil && !l.closeSent && !l.pollHeld {
					l.startPoll(nil)
				}
			case evWriteDone:
				l.writeBusy = false
				clear(ev.pkts)
				l.spare = ev.pkts[:0]
				if ev.err != nil {
					reason, cause = ReasonTransportError, ev.err
					break loop
				}
				if l.closeSent {
					reason, graceful = ReasonForcedClose, true
					break loop
				}
			case evTransportError:
				reason, cause = ev.reason, ev.err
				if l.closeSent { // the server closed after our close packet
					reason, cause = ReasonForcedClose, nil
				}
				break loop
			case evProbe:
				l.probing = false
				if ev.ws == nil {
					forgetUpgrade(c.upKey)
				} else if l.closing {
					ev.ws.CloseNow()
				} else {
					l.probeWS = ev.ws
				}
				if l.pollHeld {
					l.pollHeld = false
					if l.probeWS == nil && !l.pollInFlight && l.ws == nil && !l.closeSent {
						l.startPoll(nil) // the probe failed: polling goes on
					}
				}
			}
		case <-c.wake:
		case r := <-c.abort:
			reason = r
			break loop
		case <-heartbeat:
			reason = ReasonPingTimeout
			break loop
		case <-closeDeadline:
			reason = ReasonForcedClose
			break loop
		case <-closeReq:
			closeReq = nil // closed: stop selecting it
			l.closing = true
			closeDeadline = time.After(clientCloseTimeout)
			if l.probeWS != nil { // give the upgrade up and close where we are
				l.probeWS.CloseNow()
				l.probeWS = nil
			}
		}
		l.maybeUpgrade()
		l.flush()
	}
	if l.closing {
		// As in the reference, a connection closed by Close ends with "forced close",
		// whatever happened while the queue drained.
		reason, cause = ReasonForcedClose, nil
	}
	l.teardown(reason, cause, graceful)
}

// shouldUpgrade reports whether a polling connection probes websocket.
func (l *clientLoop) shouldUpgrade() bool {
	o := l.c.opts
	return !o.DisableUpgrade && slices.Contains(o.Transports, TransportWebSocket) &&
		slices.Contains(l.c.info.Upgrades, TransportWebSocket)
}

func (l *clientLoop) startPoll(body []byte) {
	l.pollInFlight = true
	l.c.wg.Add(1)
	go l.c.poll(body)
}

// maybeUpgrade completes the upgrade once the probe succeeded and polling is paused:
// no poll and no POST in flight. The upgrade packet then goes first on the websocket,
// followed by everything queued meanwhile.
func (l *clientLoop) maybeUpgrade() {
	if l.probeWS == nil || l.pollInFlight || l.writeBusy {
		return
	}
	c := l.c
	l.ws, l.probeWS = l.probeWS, nil
	l.upgraded = true
	l.ctrl = slices.Insert(l.ctrl, 0, Packet{Type: PacketUpgrade})
	c.transport.Store(connOnWebSocket)
	rememberUpgrade(c.upKey)
	c.wg.Add(1)
	go c.readWebSocket(l.ws)
}

// flush hands the writer the next batch when it is idle: control packets, then
// queued messages (within the server's maxPayload on polling), then the close packet
// once closing and nothing else is left.
func (l *clientLoop) flush() {
	if l.writeBusy || l.closeSent || l.probeWS != nil {
		return
	}
	c := l.c
	batch := append(l.spare[:0], l.ctrl...)
	clear(l.ctrl)
	l.ctrl = l.ctrl[:0]
	c.mu.Lock()
	n := len(c.queue)
	if l.ws == nil && c.info.MaxPayload > 0 {
		n = clientPayloadFit(batch, c.queue, c.info.MaxPayload)
	}
	batch = append(batch, c.queue[:n]...)
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	c.mu.Unlock()
	if l.closing && rest == 0 && (len(batch) == 0 || l.ws != nil) {
		// Over polling the close packet goes alone, once everything before it
		// was written, as the reference client sends it: a server may handle
		// it before the packets of its own payload (the npm server does), and
		// the peer's last messages (a Socket.IO DISCONNECT) would be lost.
		batch = append(batch, Packet{Type: PacketClose})
		l.closeSent = true
	}
	if len(batch) == 0 {
		l.spare = batch
		return
	}
	l.spare = nil
	l.writeBusy = true
	c.writeCh <- clientWriteJob{ws: l.ws, pkts: batch} // never blocks: the writer is idle
}

// clientPayloadFit returns how many of queue fit in one polling payload after head, given
// the server's maxPayload. At least one packet goes when head is empty, so an
// oversized message is still sent (and refused by the server).
func clientPayloadFit(head, queue []Packet, maxPayload int) int {
	size := 0
	for i, p := range head {
		if i > 0 {
			size++
		}
		size += clientPacketSize(p)
	}
	for i, p := range queue {
		s := clientPacketSize(p)
		if size > 0 {
			s++ // record separator
		}
		if size+s > maxPayload && (size > 0 || i > 0) {
			return i
		}
		size += s
	}
	return len(queue)
}

// clientPacketSize is len(AppendPacket(nil, p)).
func clientPacketSize(p Packet) int {
	if p.Binary {
		return 1 + (len(p.Data)+2)/3*4
	}
	return 1 + len(p.Data)
}

// teardown closes the connection with reason: it reports the close (Context, Read,
// Send), stops every request and the websocket, and waits for the goroutines.
func (l *clientLoop) teardown(reason Reason, cause error, graceful bool) {
	c := l.c
	c.mu.Lock()
	c.reason = reason
	c.closeErr = &CloseError{Reason: reason, Err: cause}
	clear(c.queue)
	c.queue = nil
	c.mu.Unlock()
	c.cancel(reason)
	close(c.closed)
	if reason == ReasonTransportError {
		forgetUpgrade(c.upKey) // as the reference client does on any transport error
	}

	if l.ws != nil {
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), clientCloseTimeout)
			clientCloseWebSocket(ctx, l.ws)
			cancel()
		}
		l.ws.CloseNow()
	}
	if l.probeWS != nil {
		l.probeWS.CloseNow()
	}
	c.ioStop()
	c.wg.Wait()
	// A probe that ended after the loop stopped listening closed its own websocket.
	close(c.done)
}

// clientCloseWebSocket runs the websocket close handshake, bounded by ctx.
func clientCloseWebSocket(ctx context.Context, ws *websocket.Conn) {
	done := make(chan struct{})
	go func() {
		ws.Close(websocket.StatusNormalClosure, "")
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		ws.CloseNow()
		<-done
	}
}

// sendEvent reports ev to the loop; it gives up when the connection is torn down.
func (c *Conn) sendEvent(ev clientEvent) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.ioCtx.Done():
		return false
	}
}

// deliver hands a received message to Read; it gives up when the connection is torn
// down.
func (c *Conn) deliver(m Message) bool {
	select {
	case c.inbox <- m:
		return true
	case <-c.ioCtx.Done():
		return false
	}
}

// dispatch routes one received packet: messages to Read, the rest to the loop.
func (c *Conn) dispatch(p Packet) bool {
	if p.Type == PacketMessage {
		return c.deliver(Message{Binary: p.Binary, Data: p.Data})
	}
	return c.sendEvent(clientEvent{kind: evPacket, packet: p})
}

// writer writes the loop's batches, one at a time, on the transport named by each.
func (c *Conn) writer() {
	defer c.wg.Done()
	var buf []byte
	for {
		select {
		case job := <-c.writeCh:
			var err error
			if job.ws != nil {
				buf, err = c.writeWebSocket(job.ws, job.pkts, buf)
			} else {
				err = c.post(job.pkts)
			}
			if !c.sendEvent(clientEvent{kind: evWriteDone, pkts: job.pkts, err: err}) {
				return
			}
		case <-c.ioCtx.Done():
			return
		}
	}
}
