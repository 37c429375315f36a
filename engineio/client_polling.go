package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// clientStatusError describes a polling request the server answered with an error status.
type clientStatusError struct {
	method string
	status int
	body   string
}

func (e *clientStatusError) Error() string {
	return "engineio: polling " + e.method + ": status " + strconv.Itoa(e.status) + ": " + e.body
}

// clientOpenJSON is the JSON of the open packet.
type clientOpenJSON struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// parseOpen reads an open packet's text form into c.info.
func (c *Conn) parseOpen(b []byte) error {
	p, err := ParsePacket(b)
	if err != nil || p.Type != PacketOpen {
		return errors.Join(ErrHandshake, errors.New("engineio: expected an open packet, got "+strconv.Quote(clientTruncate(b, 64))))
	}
	var op clientOpenJSON
	if err := json.Unmarshal(p.Data, &op); err != nil {
		return errors.Join(ErrHandshake, err)
	}
	if op.SID == "" || op.PingInterval < 0 || op.PingTimeout < 0 {
		return errors.Join(ErrHandshake, errors.New("engineio: bad open packet "+strconv.Quote(clientTruncate(p.Data, 200))))
	}
	c.info = OpenInfo{
		SID:          op.SID,
		Upgrades:     op.Upgrades,
		PingInterval: time.Duration(op.PingInterval) * time.Millisecond,
		PingTimeout:  time.Duration(op.PingTimeout) * time.Millisecond,
		MaxPayload:   op.MaxPayload,
	}
	return nil
}

func clientTruncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// pollingHandshake opens the session with a polling GET. It returns what followed
// the open packet in the body (nil when nothing did).
func (c *Conn) pollingHandshake(ctx context.Context) ([]byte, error) {
	body, err := c.httpDo(ctx, http.MethodGet, c.requestURL(TransportPolling, false), nil)
	if err != nil {
		return nil, handshakeErr(TransportPolling, c.base.Path, err)
	}
	open, rest := body, []byte(nil)
	if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
		open, rest = body[:i], body[i+1:]
	}
	if err := c.parseOpen(open); err != nil {
		return nil, err
	}
	return rest, nil
}

// poll runs one polling GET (or, with body set, handles the packets that came with
// the handshake) and reports the packets, then evPollDone, to the loop.
func (c *Conn) poll(body []byte) {
	defer c.wg.Done()
	if body == nil {
		var err error
		body, err = c.httpDo(c.ioCtx, http.MethodGet, c.requestURL(TransportPolling, true), nil)
		if err != nil {
			c.sendEvent(clientEvent{kind: evTransportError, reason: ReasonTransportError, err: err})
			return
		}
	}
	stopped := errors.New("stopped")
	err := ParsePayload(body, 0, func(p Packet) error {
		if !c.dispatch(p) {
			return stopped
		}
		return nil
	})
	switch {
	case err == stopped:
	case err != nil:
		c.sendEvent(clientEvent{kind: evTransportError, reason: ReasonParseError, err: err})
	default:
		c.sendEvent(clientEvent{kind: evPollDone})
	}
}

// post writes pkts as one polling payload.
func (c *Conn) post(pkts []Packet) error {
	size := len(pkts)
	for _, p := range pkts {
		size += clientPacketSize(p)
	}
	body := AppendPayload(make([]byte, 0, size), pkts)
	_, err := c.httpDo(c.ioCtx, http.MethodPost, c.requestURL(TransportPolling, true), body)
	return err
}

// httpDo runs one polling request with the extra headers and returns the body of a
// 200 answer.
func (c *Conn) httpDo(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range c.opts.ExtraHeaders {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.ReadLimit+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &clientStatusError{method: method, status: resp.StatusCode, body: clientTruncate(data, 200)}
	}
	if int64(len(data)) > c.opts.ReadLimit {
		return nil, errors.New("engineio: polling response over the read limit")
	}
	return data, nil
}
