package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeEIO is a minimal Engine.IO v4 server for the client's unit tests: polling,
// websocket and the upgrade, an echo of every message ("close-me" makes it send a
// close packet instead), and knobs for the cases the tests need. It records what it
// sees and reports protocol violations (two GETs or two POSTs at once) as test errors.
type fakeEIO struct {
	t            testing.TB
	pingInterval time.Duration // 0: 10s
	pingTimeout  time.Duration // 0: 10s
	maxPayload   int           // 0: 1e6
	silent       bool          // never ping
	garbage      bool          // answer the first poll with an undecodable payload
	refuseProbe  bool          // refuse websocket requests that upgrade a session
	stallProbe   bool          // never answer the upgrade probe
	noopOnce     bool          // release one poll with noop before answering the probe, no more

	srv    *httptest.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	nextID   int
	sessions map[string]*fakeSession
	requests []fakeRequest
	posts    [][]byte
	pongs    int
	closes   int // close packets received
}

type fakeRequest struct {
	method, transport, sid string
	header                 http.Header
	query                  url.Values
}

type fakeSession struct {
	id            string
	out           chan Packet
	release       chan struct{} // closed once probed: polls are answered with noop (upgrade)
	once          chan struct{} // noopOnce: one poll answered with noop
	onceDone      chan struct{} // noopOnce: closed once that noop is written
	pollAfter     chan struct{} // noopOnce: a poll came after that noop
	probed        bool
	gets, posts   int // in flight, under fakeEIO.mu
	upgraded      bool
	garbageServed bool
}

func newFakeEIO(t testing.TB, configure func(*fakeEIO)) *fakeEIO {
	f := &fakeEIO{t: t, sessions: map[string]*fakeSession{}}
	if configure != nil {
		configure(f)
	}
	if f.pingInterval == 0 {
		f.pingInterval = 10 * time.Second
	}
	if f.pingTimeout == 0 {
		f.pingTimeout = 10 * time.Second
	}
	if f.maxPayload == 0 {
		f.maxPayload = 1e6
	}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		f.cancel()
		f.srv.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeEIO) URL() string { return f.srv.URL }

func (f *fakeEIO) snapshot() (reqs []fakeRequest, posts [][]byte, pongs, closes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRequest(nil), f.requests...), append([][]byte(nil), f.posts...), f.pongs, f.closes
}

func (f *fakeEIO) serve(w http.ResponseWriter, r *http.Request) {
	f.wg.Add(1)
	defer f.wg.Done()
	q := r.URL.Query()
	transport, sid := q.Get("transport"), q.Get("sid")
	f.mu.Lock()
	f.requests = append(f.requests, fakeRequest{method: r.Method, transport: transport, sid: sid, header: r.Header.Clone(), query: q})
	s := f.sessions[sid]
	f.mu.Unlock()
	if q.Get("EIO") != "4" || (sid != "" && s == nil) {
		http.Error(w, `{"code":1,"message":"Session ID unknown"}`, http.StatusBadRequest)
		return
	}
	switch {
	case transport == "polling" && sid == "":
		s = f.newSession()
		f.writeOpen(w, s, []string{"websocket"})
	case transport == "polling" && r.Method == http.MethodGet:
		f.pollGet(w, r, s)
	case transport == "polling" && r.Method == http.MethodPost:
		f.pollPost(w, r, s)
	case transport == "websocket" && sid != "" && f.refuseProbe:
		http.Error(w, "Bad request", http.StatusBadRequest)
	case transport == "websocket":
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		if sid == "" {
			s = f.newSession()
			var b bytes.Buffer
			f.writeOpen(&b, s, []string{})
			if ws.Write(f.ctx, websocket.MessageText, b.Bytes()) != nil {
				return
			}
		} else if !f.upgrade(ws, s) {
			return
		}
		f.serveWebSocket(ws, s)
	default:
		http.Error(w, "bad request", http.StatusBadRequest)
	}
}

func (f *fakeEIO) newSession() *fakeSession {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	s := &fakeSession{id: "sid" + strconv.Itoa(f.nextID), out: make(chan Packet, 4096), release: make(chan struct{}),
		once: make(chan struct{}, 1), onceDone: make(chan struct{}), pollAfter: make(chan struct{}, 1)}
	f.sessions[s.id] = s
	return s
}

func (f *fakeEIO) writeOpen(w io.Writer, s *fakeSession, upgrades []string) {
	b, _ := json.Marshal(map[string]any{"sid": s.id, "upgrades": upgrades,
		"pingInterval": f.pingInterval.Milliseconds(), "pingTimeout": f.pingTimeout.Milliseconds(), "maxPayload": f.maxPayload})
	io.WriteString(w, "0"+string(b))
}

// pingC returns a channel that fires when the server pings next (nil when silent).
func (f *fakeEIO) pingC() (<-chan time.Time, func()) {
	if f.silent {
		return nil, func() {}
	}
	tm := time.NewTimer(f.pingInterval)
	return tm.C, func() { tm.Stop() }
}

func (f *fakeEIO) pollGet(w http.ResponseWriter, r *http.Request, s *fakeSession) {
	f.mu.Lock()
	s.gets++
	if s.gets > 1 {
		f.t.Errorf("fake server: two polling GETs at once")
	}
	garbage := f.garbage && !s.garbageServed
	s.garbageServed = true
	f.mu.Unlock()
	defer func() { f.mu.Lock(); s.gets--; f.mu.Unlock() }()
	select {
	case <-s.onceDone:
		select {
		case s.pollAfter <- struct{}{}:
		default:
		}
	default:
	}
	if garbage {
		io.WriteString(w, "4ok\x1ezzz")
		return
	}
	ping, stop := f.pingC()
	defer stop()
	var pkts []Packet
	select {
	case p := <-s.out:
		pkts = append(pkts, p)
	drain:
		for {
			select {
			case p := <-s.out:
				pkts = append(pkts, p)
			default:
				break drain
			}
		}
	case <-s.release:
		pkts = append(pkts, Packet{Type: PacketNoop})
	case <-s.once:
		w.Write(AppendPayload(nil, []Packet{{Type: PacketNoop}}))
		close(s.onceDone)
		return
	case <-ping:
		pkts = append(pkts, Packet{Type: PacketPing})
	case <-r.Context().Done():
		return
	case <-f.ctx.Done():
		return
	}
	w.Write(AppendPayload(nil, pkts))
}

func (f *fakeEIO) pollPost(w http.ResponseWriter, r *http.Request, s *fakeSession) {
	f.mu.Lock()
	s.posts++
	if s.posts > 1 {
		f.t.Errorf("fake server: two polling POSTs at once")
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); s.posts--; f.mu.Unlock() }()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.posts = append(f.posts, body)
	f.mu.Unlock()
	if len(body) > f.maxPayload {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
		return
	}
	err = ParsePayload(body, 0, func(p Packet) error {
		f.handle(s, Packet{Type: p.Type, Binary: p.Binary, Data: bytes.Clone(p.Data)})
		return nil
	})
	if err != nil {
		f.t.Errorf("fake server: bad POST body %q: %v", body, err)
	}
	io.WriteString(w, "ok")
}

// handle processes one packet from the client: echo messages, count pongs and closes.
func (f *fakeEIO) handle(s *fakeSession, p Packet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch p.Type {
	case PacketMessage:
		if !p.Binary && string(p.Data) == "close-me" {
			s.out <- Packet{Type: PacketClose}
			return
		}
		s.out <- p
	case PacketPong:
		f.pongs++
	case PacketClose:
		f.closes++
	}
}

func (f *fakeEIO) upgrade(ws *websocket.Conn, s *fakeSession) bool {
	typ, data, err := ws.Read(f.ctx)
	if err != nil || typ != websocket.MessageText || string(data) != "2probe" {
		return false
	}
	if f.stallProbe {
		ws.Read(f.ctx) // until the client gives up
		return false
	}
	if f.noopOnce {
		// The poll is released before the probe is answered, and only once.
		s.once <- struct{}{}
		select {
		case <-s.onceDone:
		case <-f.ctx.Done():
			return false
		}
		// Give a client that would poll again the time to do it (the race
		// this knob reproduces); a client that waits for the probe does not.
		select {
		case <-s.pollAfter:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if ws.Write(f.ctx, websocket.MessageText, []byte("3probe")) != nil {
		return false
	}
	f.mu.Lock()
	if !s.probed && !f.noopOnce { // like the reference: every poll gets noop until the upgrade packet
		s.probed = true
		close(s.release)
	}
	f.mu.Unlock()
	typ, data, err = ws.Read(f.ctx)
	if err != nil {
		return false // the client gave the upgrade up (closed meanwhile)
	}
	if typ != websocket.MessageText || string(data) != "5" {
		f.t.Errorf("fake server: want the upgrade packet, got %q", data)
		return false
	}
	f.mu.Lock()
	s.upgraded = true
	f.mu.Unlock()
	return true
}

func (f *fakeEIO) serveWebSocket(ws *websocket.Conn, s *fakeSession) {
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ws.CloseNow() })
	defer stop()
	bg := context.Background() // ws operations end with ctx through AfterFunc
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // reader
		defer wg.Done()
		defer cancel()
		for {
			typ, data, err := ws.Read(bg)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				f.handle(s, Packet{Type: PacketMessage, Binary: true, Data: data})
				continue
			}
			p, err := ParsePacket(data)
			if err != nil {
				f.t.Errorf("fake server: bad frame %q", data)
				return
			}
			f.handle(s, p)
			if p.Type == PacketClose {
				ws.Close(websocket.StatusNormalClosure, "")
				return
			}
		}
	}()
	defer wg.Wait()
	var ping <-chan time.Time
	if !f.silent {
		tk := time.NewTicker(f.pingInterval)
		defer tk.Stop()
		ping = tk.C
	}
	var buf []byte
	for {
		var err error
		select {
		case p := <-s.out:
			if p.Binary {
				err = ws.Write(bg, websocket.MessageBinary, p.Data)
			} else {
				buf = AppendPacket(buf[:0], p)
				err = ws.Write(bg, websocket.MessageText, buf)
			}
			if p.Type == PacketClose {
				ws.Close(websocket.StatusNormalClosure, "")
				return
			}
		case <-ping:
			err = ws.Write(bg, websocket.MessageText, []byte("2"))
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func clientTestCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func clientDial(t testing.TB, u string, opts *DialOptions) *Conn {
	t.Helper()
	c, err := Dial(clientTestCtx(t), u, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientEcho sends text and binary messages and checks the echoes, in order.
func clientEcho(t *testing.T, c *Conn, n int) {
	t.Helper()
	ctx := clientTestCtx(t)
	var want []Message
	for i := range n {
		m := Message{Data: []byte("hello " + strconv.Itoa(i))}
		if i%3 == 1 {
			m = Message{Binary: true, Data: []byte{byte(i), 0, 0x1e, 0xff, '4'}}
		}
		want = append(want, m)
		if err := c.Send(m); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for i, w := range want {
		got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if got.Binary != w.Binary || !bytes.Equal(got.Data, w.Data) {
			t.Fatalf("message %d: got %+v, want %+v", i, got, w)
		}
	}
}

func TestClientPolling(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), &DialOptions{DisableUpgrade: true})
	if c.Transport() != "polling" || !strings.HasPrefix(c.ID(), "sid") {
		t.Fatalf("transport %q id %q", c.Transport(), c.ID())
	}
	info := c.OpenInfo()
	if info.PingInterval != 10*time.Second || info.MaxPayload != 1e6 || len(info.Upgrades) != 1 || info.Upgrades[0] != "websocket" {
		t.Fatalf("open info %+v", info)
	}
	clientEcho(t, c, 30)
	if c.Transport() != "polling" {
		t.Fatalf("upgraded with DisableUpgrade")
	}
	reqs, _, _, _ := f.snapshot()
	for _, r := range reqs {
		if r.transport != "polling" {
			t.Fatalf("request on %q with DisableUpgrade", r.transport)
		}
	}
}

func TestClientWebSocket(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), &DialOptions{Transports: []string{"websocket"}})
	if c.Transport() != "websocket" {
		t.Fatalf("transport %q", c.Transport())
	}
	if len(c.OpenInfo().Upgrades) != 0 {
		t.Fatalf("upgrades %v", c.OpenInfo().Upgrades)
	}
	clientEcho(t, c, 30)
}

// clientWaitTransport waits (without asserting how long it takes) for the upgrade.
func clientWaitTransport(t *testing.T, c *Conn, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Transport() != want {
		if time.Now().After(deadline) {
			t.Fatalf("transport still %q", c.Transport())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientUpgrade(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), nil)
	// Messages sent from the start, across the upgrade, come back complete and in order.
	clientEcho(t, c, 300)
	clientWaitTransport(t, c, "websocket")
	clientEcho(t, c, 30)
	reqs, _, _, _ := f.snapshot()
	var ws int
	for _, r := range reqs {
		if r.transport == "websocket" {
			ws++
			if r.sid != c.ID() {
				t.Fatalf("websocket request with sid %q, want %q", r.sid, c.ID())
			}
		}
	}
	if ws != 1 {
		t.Fatalf("%d websocket requests, want 1", ws)
	}
}

// The server releases the poll with a noop once, possibly before the client
// reads "3probe" (two connections: no order between them). The client must not
// start another poll then: the server would hold it (until its ping) while the
// client waits for it to end before sending the upgrade packet.
func TestClientUpgradeNoopBeforeProbeAnswer(t *testing.T) {
	f := newFakeEIO(t, func(f *fakeEIO) { f.noopOnce = true; f.pingInterval = time.Minute; f.pingTimeout = time.Minute })
	c := clientDial(t, f.URL(), nil)
	clientWaitTransport(t, c, "websocket") // within 10s, not the 1 minute ping
	clientEcho(t, c, 3)
}

func TestClientSendDuringUpgrade(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), nil)
	ctx := clientTestCtx(t)
	const n = 2000
	done := make(chan error, 1)
	go func() {
		for i := range n {
			if err := c.Send(Message{Data: []byte(strconv.Itoa(i))}); err != nil {
				done <- err
				return
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // spread the sends over the upgrade
			}
		}
		done <- nil
	}()
	for i := range n {
		m, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d: got %q", i, m.Data)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clientWaitTransport(t, c, "websocket")
}

func TestClientHeartbeat(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			f := newFakeEIO(t, func(f *fakeEIO) { f.pingInterval = 20 * time.Millisecond; f.pingTimeout = 2 * time.Second })
			c := clientDial(t, f.URL(), &DialOptions{Transports: []string{tr}})
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, _, pongs, _ := f.snapshot()
				if pongs >= 3 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d pongs", pongs)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if c.Context().Err() != nil {
				t.Fatalf("closed: %v", context.Cause(c.Context()))
			}
		})
	}
}

func TestClientPingTimeout(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			f := newFakeEIO(t, func(f *fakeEIO) {
				f.silent = true
				f.pingInterval = 30 * time.Millisecond
				f.pingTimeout = 20 * time.Millisecond
			})
			c := clientDial(t, f.URL(), &DialOptions{Transports: []string{tr}})
			_, err := c.Read(clientTestCtx(t))
			if !errors.Is(err, ReasonPingTimeout) {
				t.Fatalf("Read: %v, want ping timeout", err)
			}
			if cause := context.Cause(c.Context()); cause != ReasonPingTimeout {
				t.Fatalf("cause %v", cause)
			}
			if err := c.Send(Message{Data: []byte("x")}); !errors.Is(err, ReasonPingTimeout) {
				t.Fatalf("Send after close: %v", err)
			}
		})
	}
}

func TestClientServerClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			f := newFakeEIO(t, nil)
			c := clientDial(t, f.URL(), &DialOptions{Transports: []string{tr}})
			if err := c.Send(Message{Data: []byte("before")}, Message{Data: []byte("close-me")}); err != nil {
				t.Fatal(err)
			}
			ctx := clientTestCtx(t)
			m, err := c.Read(ctx)
			if err != nil || string(m.Data) != "before" {
				t.Fatalf("Read: %q %v", m.Data, err)
			}
			_, err = c.Read(ctx)
			var ce *CloseError
			if !errors.Is(err, ReasonTransportClose) || !errors.As(err, &ce) || ce.Reason != ReasonTransportClose {
				t.Fatalf("Read: %v, want transport close", err)
			}
			<-c.Context().Done()
			if cause := context.Cause(c.Context()); cause != ReasonTransportClose {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}

func TestClientClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			f := newFakeEIO(t, nil)
			c := clientDial(t, f.URL(), &DialOptions{Transports: []string{tr}})
			if err := c.Send(Message{Data: []byte("last")}); err != nil {
				t.Fatal(err)
			}
			readErr := make(chan error, 1)
			go func() {
				for {
					if _, err := c.Read(context.Background()); err != nil {
						readErr <- err
						return
					}
				}
			}()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil { // idempotent
				t.Fatal(err)
			}
			if err := <-readErr; !errors.Is(err, ReasonForcedClose) {
				t.Fatalf("Read after Close: %v", err)
			}
			if err := c.Send(Message{Data: []byte("x")}); !errors.Is(err, ReasonForcedClose) {
				t.Fatalf("Send after Close: %v", err)
			}
			if cause := context.Cause(c.Context()); cause != ReasonForcedClose {
				t.Fatalf("cause %v", cause)
			}
			_, posts, _, closes := f.snapshot()
			if closes != 1 {
				t.Fatalf("server saw %d close packets, want 1", closes)
			}
			if tr == "polling" && !bytes.Contains(bytes.Join(posts, nil), []byte("4last")) {
				t.Fatalf("the queued message was not written before close: %q", posts)
			}
		})
	}
}

func TestClientMaxPayload(t *testing.T) {
	f := newFakeEIO(t, func(f *fakeEIO) { f.maxPayload = 100 })
	c := clientDial(t, f.URL(), &DialOptions{DisableUpgrade: true})
	var msgs []Message
	for i := range 40 {
		if i%2 == 0 {
			msgs = append(msgs, Message{Data: bytes.Repeat([]byte{'a' + byte(i%26)}, 20+i)})
		} else {
			msgs = append(msgs, Message{Binary: true, Data: bytes.Repeat([]byte{byte(i)}, 10+i)})
		}
	}
	if err := c.Send(msgs...); err != nil {
		t.Fatal(err)
	}
	ctx := clientTestCtx(t)
	for i, w := range msgs {
		m, err := c.Read(ctx)
		if err != nil || m.Binary != w.Binary || !bytes.Equal(m.Data, w.Data) {
			t.Fatalf("message %d: %+v %v", i, m, err)
		}
	}
	_, posts, _, _ := f.snapshot()
	if len(posts) < 10 {
		t.Fatalf("%d POSTs for 40 messages of 20-60 bytes with maxPayload 100", len(posts))
	}
	for _, p := range posts {
		if len(p) > 100 {
			t.Fatalf("POST of %d bytes over maxPayload 100: %q", len(p), p)
		}
	}
}

func TestClientHeadersQueryPath(t *testing.T) {
	f := newFakeEIO(t, nil)
	h := http.Header{}
	h.Set("X-Corvid", "yes")
	opts := &DialOptions{ExtraHeaders: h, Query: url.Values{"token": {"abc"}}, DisableUpgrade: true}
	c := clientDial(t, f.URL()+"/ignored/?fromurl=1", opts)
	clientEcho(t, c, 3)
	opts.DisableUpgrade = false
	c = clientDial(t, f.URL()+"/ignored/?fromurl=1", opts)
	clientWaitTransport(t, c, "websocket")
	clientEcho(t, c, 3)
	reqs, _, _, _ := f.snapshot()
	seen := map[string]bool{}
	for _, r := range reqs {
		seen[r.transport+" "+r.method] = true
		if r.header.Get("X-Corvid") != "yes" || r.query.Get("token") != "abc" || r.query.Get("fromurl") != "1" {
			t.Fatalf("%s %s: header %v query %v", r.method, r.transport, r.header, r.query)
		}
	}
	for _, k := range []string{"polling GET", "polling POST", "websocket GET"} {
		if !seen[k] {
			t.Fatalf("no %s request among %v", k, seen)
		}
	}

	// The path option; the URL's path is not used.
	mux := http.NewServeMux()
	mux.Handle("/custom/", http.HandlerFunc(f.serve))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c2 := clientDial(t, srv.URL+"/engine.io/", &DialOptions{Path: "/custom/", DisableUpgrade: true})
	clientEcho(t, c2, 2)
	c2.Close()
}

func TestClientRememberUpgrade(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), &DialOptions{RememberUpgrade: true})
	clientWaitTransport(t, c, "websocket")
	c.Close()
	c2 := clientDial(t, f.URL(), &DialOptions{RememberUpgrade: true})
	if c2.Transport() != "websocket" {
		t.Fatalf("second connection on %q, want websocket", c2.Transport())
	}
	clientEcho(t, c2, 3)
	c2.Close()
	// Without the option, the memory is not used.
	c3 := clientDial(t, f.URL(), &DialOptions{DisableUpgrade: true})
	if c3.Transport() != "polling" {
		t.Fatalf("third connection on %q", c3.Transport())
	}
	forgetUpgrade(c.upKey)
}

func TestClientParseError(t *testing.T) {
	f := newFakeEIO(t, func(f *fakeEIO) { f.garbage = true })
	c := clientDial(t, f.URL(), &DialOptions{DisableUpgrade: true})
	ctx := clientTestCtx(t)
	m, err := c.Read(ctx)
	if err != nil || string(m.Data) != "ok" {
		t.Fatalf("Read: %q %v", m.Data, err)
	}
	if _, err := c.Read(ctx); !errors.Is(err, ReasonParseError) {
		t.Fatalf("Read: %v, want parse error", err)
	}
}

func TestClientSlowConsumer(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), &DialOptions{Transports: []string{"websocket"}, MaxQueuedMessages: 4})
	msgs := make([]Message, 5)
	for i := range msgs {
		msgs[i] = Message{Data: []byte("m")}
	}
	if err := c.Send(msgs...); !errors.Is(err, ReasonSlowConsumer) {
		t.Fatalf("Send over the limit: %v", err)
	}
	<-c.Context().Done()
	if cause := context.Cause(c.Context()); cause != ReasonSlowConsumer {
		t.Fatalf("cause %v", cause)
	}
}

func TestClientDialErrors(t *testing.T) {
	f := newFakeEIO(t, nil)
	ctx := clientTestCtx(t)
	if _, err := Dial(ctx, f.URL(), &DialOptions{Transports: []string{"carrier-pigeon"}}); !errors.Is(err, ErrUnknownTransport) {
		t.Fatalf("unknown transport: %v", err)
	}
	if _, err := Dial(ctx, "ftp://example.com", nil); err == nil {
		t.Fatal("ftp url accepted")
	}
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"code":5,"message":"Unsupported protocol version"}`, http.StatusBadRequest)
	}))
	defer refuse.Close()
	for _, tr := range []string{"polling", "websocket"} {
		if _, err := Dial(ctx, refuse.URL, &DialOptions{Transports: []string{tr}}); !errors.Is(err, ErrHandshake) {
			t.Fatalf("%s: refused handshake: %v", tr, err)
		}
	}
	notOpen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "4hello")
	}))
	defer notOpen.Close()
	if _, err := Dial(ctx, notOpen.URL, nil); !errors.Is(err, ErrHandshake) {
		t.Fatalf("no open packet: %v", err)
	}
}

func TestClientReadContext(t *testing.T) {
	f := newFakeEIO(t, nil)
	c := clientDial(t, f.URL(), &DialOptions{DisableUpgrade: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(ctx); err != context.Canceled {
		t.Fatalf("Read with a cancelled ctx: %v", err)
	}
	clientEcho(t, c, 2) // still open
}

func TestClientPayloadFit(t *testing.T) {
	text := func(n int) Packet { return Packet{Type: PacketMessage, Data: make([]byte, n)} }
	bin := func(n int) Packet { return Packet{Type: PacketMessage, Binary: true, Data: make([]byte, n)} }
	for _, p := range []Packet{text(0), text(7), bin(0), bin(1), bin(2), bin(3), bin(100)} {
		if got, want := clientPacketSize(p), len(AppendPacket(nil, p)); got != want {
			t.Fatalf("size of %+v: %d, want %d", p, got, want)
		}
	}
	cases := []struct {
		head, queue []Packet
		max, want   int
	}{
		{nil, []Packet{text(9), text(9), text(9)}, 21, 2},         // 10 + 1 + 10
		{nil, []Packet{text(9), text(9), text(9)}, 20, 1},         // the separator counts
		{nil, []Packet{text(50)}, 10, 1},                          // an oversized one still goes alone
		{[]Packet{{Type: PacketPong}}, []Packet{text(50)}, 10, 0}, // but not after a control packet
		{nil, []Packet{bin(3), bin(3)}, 11, 2},                    // "b" + 4 base64 chars each
	}
	for i, tc := range cases {
		if got := clientPayloadFit(tc.head, tc.queue, tc.max); got != tc.want {
			t.Fatalf("case %d: %d, want %d", i, got, tc.want)
		}
	}
}

func BenchmarkClientRoundTripWebSocket(b *testing.B) {
	f := newFakeEIO(b, nil)
	c, err := Dial(context.Background(), f.URL(), &DialOptions{Transports: []string{"websocket"}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	msg := Message{Data: []byte(`["event",{"hello":"world"}]`)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := c.Send(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestClientProbeRefused(t *testing.T) {
	f := newFakeEIO(t, func(f *fakeEIO) { f.refuseProbe = true })
	c := clientDial(t, f.URL(), &DialOptions{RememberUpgrade: true})
	// Wait for the refused probe, then check the connection still works on polling.
	deadline := time.Now().Add(10 * time.Second)
	for {
		reqs, _, _, _ := f.snapshot()
		probed := false
		for _, r := range reqs {
			probed = probed || r.transport == "websocket"
		}
		if probed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no probe")
		}
		time.Sleep(5 * time.Millisecond)
	}
	clientEcho(t, c, 20)
	if c.Transport() != "polling" {
		t.Fatalf("transport %q after a refused probe", c.Transport())
	}
	c.Close()
	c2 := clientDial(t, f.URL(), &DialOptions{RememberUpgrade: true})
	if c2.Transport() != "polling" {
		t.Fatalf("remembered an upgrade that failed")
	}
}

func TestClientConcurrentUse(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			f := newFakeEIO(t, func(f *fakeEIO) { f.pingInterval = 10 * time.Millisecond })
			var opts *DialOptions
			if tr == "websocket" {
				opts = &DialOptions{Transports: []string{"websocket"}}
			}
			c := clientDial(t, f.URL(), opts)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						if c.Send(Message{Data: []byte(strconv.Itoa(g*1000 + i))}) != nil {
							return
						}
						c.Transport()
						c.ID()
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			c.Close()
			wg.Wait()
			if cause := context.Cause(c.Context()); cause != ReasonForcedClose {
				t.Fatalf("cause %v", cause)
			}
		})
	}
}

// clientGoroutines returns the stacks of the running goroutines that belong to a
// client connection (started by Dial or by a Conn's loop).
func clientGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "engineio.(*Conn).") || strings.Contains(g, "engineio.(*clientLoop).") {
			out = append(out, g)
		}
	}
	return out
}

// clientWaitExited fails when a goroutine of a client is still there after Close.
// Close waits on a WaitGroup: a goroutine may still be runnable between its Done
// and its exit, so runnable ones get a moment to go; one blocked (on a channel,
// a lock, the network) means Close returned without waiting for it.
func clientWaitExited(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g := clientGoroutines()
		if len(g) == 0 {
			return
		}
		for _, s := range g {
			if !strings.Contains(s, "[runnable") && !strings.Contains(s, "[running") {
				t.Fatalf("client goroutine blocked after Close:\n%s", s)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("client goroutines after Close:\n%s", strings.Join(g, "\n\n"))
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// Close returns only once every goroutine of the connection has ended, in every
// state: open on each transport, and with an upgrade probe in flight.
func TestClientCloseWaitsForGoroutines(t *testing.T) {
	cases := []struct {
		name  string
		fake  func(*fakeEIO)
		opts  *DialOptions
		probe bool
	}{
		{"polling", nil, &DialOptions{DisableUpgrade: true}, false},
		{"websocket", nil, &DialOptions{Transports: []string{"websocket"}}, false},
		{"upgraded", nil, nil, false},
		{"probing", func(f *fakeEIO) { f.stallProbe = true }, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clientWaitExited(t) // those of earlier tests are gone
			f := newFakeEIO(t, tc.fake)
			c := clientDial(t, f.URL(), tc.opts)
			clientEcho(t, c, 3)
			if tc.name == "upgraded" {
				clientWaitTransport(t, c, "websocket")
			}
			if tc.probe {
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(strings.Join(clientGoroutines(), ""), "(*Conn).probe") {
					if time.Now().After(deadline) {
						t.Fatal("no probe running")
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if len(clientGoroutines()) == 0 {
				t.Fatal("no client goroutines while open")
			}
			c.Close()
			clientWaitExited(t)
			if c.Transport() == "websocket" && tc.probe {
				t.Fatal("upgraded although the probe was never answered")
			}
		})
	}
}

func TestClientURLSchemes(t *testing.T) {
	f := newFakeEIO(t, nil)
	for _, u := range []string{"ws" + strings.TrimPrefix(f.URL(), "http"), f.URL() + "/"} {
		c := clientDial(t, u, nil)
		clientEcho(t, c, 2)
		clientWaitTransport(t, c, "websocket")
		clientEcho(t, c, 2)
		c.Close()
	}
	if _, err := Dial(clientTestCtx(t), "http://", nil); err == nil {
		t.Fatal("url without host accepted")
	}
}
