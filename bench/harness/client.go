package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// client is one load-generator connection: Engine.IO v4 + Socket.IO v5 on the
// main namespace, spoken directly over a raw websocket or over HTTP long
// polling, so that it is the same for every server.
type client struct {
	transport string
	ws        *wsConn
	rd        *wsReadState // websocket: the reactor's state of the connection

	url    string     // polling: the session URL (with sid)
	getC   *httpConn  // polling: the connection of the GETs (the reader's)
	postC  *httpConn  // polling: the connection of the POSTs, under postMu
	postMu sync.Mutex // polling: one POST at a time

	// onEvent receives the EVENT packets ("42..." without the leading "42").
	// It runs on the client's reader goroutine.
	onEvent func(b []byte)
	// acks is signalled when an acknowledgement (with its attachments) arrives,
	// unless onAck is set: then onAck is called, on the reader's goroutine.
	acks  chan struct{}
	onAck atomic.Pointer[func()]

	binLeft int          // attachments still expected by a BINARY_ACK
	binAcks atomic.Int64 // BINARY_ACKs completed with their attachments
	echoed  atomic.Int64 // ACKs that carried a whole payload back
	closed  atomic.Bool
	done    chan struct{} // closed when the reader ends
}

var errHandshake = errors.New("harness: unexpected handshake")

// dialOptions name the server and what a client asks for.
type dialOptions struct {
	base    string // "http://127.0.0.1:port"
	query   string // extra query, "&room=r1"
	polling bool
	onEvent func(b []byte)
}

func dial(ctx context.Context, o dialOptions) (*client, error) {
	c := &client{onEvent: o.onEvent, acks: make(chan struct{}, 1), done: make(chan struct{})}
	if c.onEvent == nil {
		c.onEvent = func([]byte) {}
	}
	if o.polling {
		c.transport = "polling"
		return c, c.dialPolling(ctx, o)
	}
	c.transport = "websocket"
	return c, c.dialWS(ctx, o)
}

func (c *client) dialWS(ctx context.Context, o dialOptions) error {
	u := "ws" + strings.TrimPrefix(o.base, "http") + "/socket.io/?EIO=4&transport=websocket" + o.query
	ws, err := dialWebSocket(ctx, u)
	if err != nil {
		return err
	}
	c.ws = ws
	fail := func(err error) error {
		ws.close()
		return err
	}
	stop := context.AfterFunc(ctx, ws.close)
	defer stop()
	var buf bytes.Buffer
	_, b, err := ws.read(&buf)
	if err != nil {
		return fail(err)
	}
	if len(b) == 0 || b[0] != '0' {
		return fail(fmt.Errorf("%w: open %q", errHandshake, b))
	}
	if err := ws.write(opText, []byte("40")); err != nil {
		return fail(err)
	}
	for {
		_, b, err := ws.read(&buf)
		if err != nil {
			return fail(err)
		}
		if bytes.HasPrefix(b, []byte("40")) {
			break
		}
		if bytes.Equal(b, []byte("2")) {
			ws.write(opText, []byte("3"))
			continue
		}
		return fail(fmt.Errorf("%w: connect %q", errHandshake, b))
	}
	if reactorSupported {
		early, _ := ws.br.Peek(ws.br.Buffered())
		if err := reactorStart(c, early); err != nil {
			return fail(err)
		}
		return nil
	}
	go c.readWS()
	return nil
}

// readWS reads the connection where the reactor (linux) is not available.
func (c *client) readWS() {
	defer close(c.done)
	var buf bytes.Buffer
	for {
		op, b, err := c.ws.read(&buf)
		if err != nil {
			return
		}
		c.message(op, b)
	}
}

// message handles one websocket message from the server.
func (c *client) message(op byte, b []byte) {
	switch {
	case op == opBinary:
		c.attachment()
	case len(b) == 1 && b[0] == '2':
		c.ws.write(opText, []byte("3"))
	default:
		c.packet(b)
	}
}

// packet handles one Engine.IO text packet other than ping.
func (c *client) packet(b []byte) {
	if len(b) < 2 || b[0] != '4' {
		return
	}
	switch b[1] {
	case '2':
		c.onEvent(b[2:])
	case '3':
		if bytes.Contains(b, padding) {
			c.echoed.Add(1)
		}
		c.ack()
	case '6':
		dash := bytes.IndexByte(b, '-')
		n, err := strconv.Atoi(string(b[2:max(dash, 2)]))
		if dash < 0 || err != nil || n <= 0 {
			c.ack()
			return
		}
		c.binLeft = n
	}
}

func (c *client) attachment() {
	if c.binLeft > 0 {
		c.binLeft--
		if c.binLeft == 0 {
			c.binAcks.Add(1)
			c.ack()
		}
	}
}

func (c *client) ack() {
	if f := c.onAck.Load(); f != nil {
		(*f)()
		return
	}
	select {
	case c.acks <- struct{}{}:
	default:
	}
}

// send writes Engine.IO messages: text ones as strings, binary as []byte.
func (c *client) send(ctx context.Context, text []byte, bins ...[]byte) error {
	if c.ws != nil {
		// Writes take no deadline (closing the conn ends them).
		if err := c.ws.write(opText, text); err != nil {
			return err
		}
		for _, b := range bins {
			if err := c.ws.write(opBinary, b); err != nil {
				return err
			}
		}
		return nil
	}
	if len(bins) > 0 {
		return errors.New("harness: binary over polling is not used")
	}
	return c.post(ctx, text)
}

func (c *client) post(ctx context.Context, body []byte) error {
	c.postMu.Lock()
	defer c.postMu.Unlock()
	var discard bytes.Buffer
	status, err := c.postC.do(ctx, "POST", body, &discard)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("harness: POST status %d", status)
	}
	return nil
}

func (c *client) get(ctx context.Context, buf *bytes.Buffer) error {
	status, err := c.getC.do(ctx, "GET", nil, buf)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("harness: GET status %d", status)
	}
	return nil
}

// setPollingURL points both polling connections at u.
func (c *client) setPollingURL(u string) error {
	c.url = u
	for _, h := range []**httpConn{&c.getC, &c.postC} {
		if *h == nil {
			conn, err := newHTTPConn(u)
			if err != nil {
				return err
			}
			*h = conn
			continue
		}
		if err := (*h).setTarget(u); err != nil {
			return err
		}
	}
	return nil
}

func (c *client) dialPolling(ctx context.Context, o dialOptions) error {
	base := o.base + "/socket.io/?EIO=4&transport=polling" + o.query
	if err := c.setPollingURL(base); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := c.get(ctx, &buf); err != nil {
		return err
	}
	b := buf.Bytes()
	if len(b) == 0 || b[0] != '0' {
		return fmt.Errorf("%w: open %q", errHandshake, b)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(b[1:], &open); err != nil || open.SID == "" {
		return fmt.Errorf("%w: open %q", errHandshake, b)
	}
	if err := c.setPollingURL(base + "&sid=" + open.SID); err != nil {
		return err
	}
	if err := c.post(ctx, []byte("40")); err != nil {
		return err
	}
	for {
		if err := c.get(ctx, &buf); err != nil {
			return err
		}
		found := false
		for p := range bytes.SplitSeq(buf.Bytes(), []byte{0x1e}) {
			switch {
			case bytes.HasPrefix(p, []byte("40")):
				found = true
			case bytes.Equal(p, []byte("2")):
				c.post(ctx, []byte("3"))
			}
		}
		if found {
			break
		}
	}
	go c.readPolling()
	return nil
}

func (c *client) readPolling() {
	defer func() {
		c.getC.close()
		close(c.done)
	}()
	ctx := context.Background()
	var buf bytes.Buffer
	for !c.closed.Load() {
		if err := c.get(ctx, &buf); err != nil {
			return
		}
		for p := range bytes.SplitSeq(buf.Bytes(), []byte{0x1e}) {
			switch {
			case len(p) == 1 && p[0] == '2':
				go c.post(ctx, []byte("3"))
			case len(p) == 1 && (p[0] == '1' || p[0] == '6'):
				if p[0] == '1' {
					return
				}
			default:
				c.packet(p)
			}
		}
	}
}

// close ends the connection without a closing handshake (the server sees the
// transport close) and waits for the reader.
func (c *client) close() {
	if c.closed.Swap(true) {
		return
	}
	if c.ws != nil {
		if reactorStop(c) {
			c.ws.close()
			close(c.done)
		} else {
			c.ws.close()
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c.post(ctx, []byte("1"))
		cancel()
		c.postMu.Lock()
		c.postC.close()
		c.postMu.Unlock()
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
	}
}

// connectAll dials n clients, at most conc at a time; opt(i) gives the options
// of client i. It returns the clients and the time it took.
func connectAll(ctx context.Context, n, conc int, opt func(i int) dialOptions) ([]*client, time.Duration, error) {
	clients := make([]*client, n)
	var firstErr error
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				c, err := dial(ctx, opt(i))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("harness: client %d: %w", i, err)
					}
					mu.Unlock()
					return
				}
				clients[i] = c
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		closeAll(clients)
		return nil, 0, firstErr
	}
	return clients, elapsed, nil
}

func closeAll(clients []*client) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c.close()
			<-sem
		}()
	}
	wg.Wait()
}
