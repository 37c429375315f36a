package engineio

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/coder/websocket"
)

// openWebSocket runs the websocket handshake, with the session id when withSID.
func (c *Conn) openWebSocket(ctx context.Context, withSID bool) (*websocket.Conn, error) {
	ws, resp, err := websocket.Dial(ctx, c.requestURL(TransportWebSocket, withSID), &websocket.DialOptions{
		HTTPClient: c.opts.HTTPClient,
		HTTPHeader: c.opts.ExtraHeaders,
	})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{Transport: TransportWebSocket, Path: c.base.Path, Status: resp.StatusCode}
		}
		return nil, err
	}
	ws.SetReadLimit(c.opts.ReadLimit)
	return ws, nil
}

// dialWebSocket opens the session over websocket: handshake, then the open packet.
func (c *Conn) dialWebSocket(ctx context.Context) (*websocket.Conn, error) {
	ws, err := c.openWebSocket(ctx, false)
	if err != nil {
		return nil, handshakeErr(TransportWebSocket, c.base.Path, err)
	}
	typ, data, err := ws.Read(ctx)
	if err == nil && typ != websocket.MessageText {
		err = errors.New("engineio: binary frame instead of the open packet")
	}
	if err == nil {
		err = c.parseOpen(data)
	}
	if err != nil {
		ws.CloseNow()
		return nil, errors.Join(ErrHandshake, err)
	}
	return ws, nil
}

// probe opens a websocket for the polling session and checks it with the ping/pong
// probe. The loop gets the websocket (or nil on failure) as evProbe.
func (c *Conn) probe() {
	defer c.wg.Done()
	ws, err := c.openWebSocket(c.ioCtx, true)
	if err == nil {
		err = ws.Write(c.ioCtx, websocket.MessageText, []byte("2probe"))
		if err == nil {
			var typ websocket.MessageType
			var data []byte
			typ, data, err = ws.Read(c.ioCtx)
			if err == nil && (typ != websocket.MessageText || string(data) != "3probe") {
				err = errors.New("engineio: bad probe answer")
			}
		}
		if err != nil {
			ws.CloseNow()
			ws = nil
		}
	}
	if !c.sendEvent(clientEvent{kind: evProbe, ws: ws, err: err}) && ws != nil {
		ws.CloseNow()
	}
}

// readWebSocket reads the websocket until it fails, routing each packet. Reads and
// writes on the transport's websocket use a context that is never done (which saves
// coder/websocket a timer per call): teardown ends them by closing the websocket.
func (c *Conn) readWebSocket(ws *websocket.Conn) {
	defer c.wg.Done()
	for {
		typ, data, err := ws.Read(context.Background())
		if err != nil {
			reason := ReasonTransportError
			if websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) ||
				errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
				reason = ReasonTransportClose
			}
			c.sendEvent(clientEvent{kind: evTransportError, reason: reason, err: err})
			return
		}
		if typ == websocket.MessageBinary {
			if !c.deliver(Message{Binary: true, Data: data}) {
				return
			}
			continue
		}
		p, err := ParsePacket(data)
		if err != nil {
			c.sendEvent(clientEvent{kind: evTransportError, reason: ReasonParseError, err: err})
			return
		}
		if !c.dispatch(p) {
			return
		}
	}
}

// writeWebSocket writes pkts, one frame each: binary messages as binary frames, the
// rest in their text form (built in buf, which is returned for reuse).
func (c *Conn) writeWebSocket(ws *websocket.Conn, pkts []Packet, buf []byte) ([]byte, error) {
	for _, p := range pkts {
		var err error
		if p.Binary {
			err = ws.Write(context.Background(), websocket.MessageBinary, p.Data)
		} else {
			buf = AppendPacket(buf[:0], p)
			err = ws.Write(context.Background(), websocket.MessageText, buf)
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
