package engineio

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawWSUpgrade dials d, sends the WebSocket handshake request and reads the
// answer up to the end of its headers with no buffer kept (the test measures
// the heap, and counts the client's side too).
func rawWSUpgrade(t *testing.T, d *stDriver) net.Conn {
	t.Helper()
	u, _ := url.Parse(d.hs.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	req := strings.ReplaceAll(rawWSRequest, "%HOST%", u.Host) + "\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	var b [256]byte
	for !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := c.Read(b[:])
		if err != nil {
			t.Fatalf("handshake: %v (%q)", err, got)
		}
		got = append(got, b[:n]...)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) {
		t.Fatalf("handshake: %q", got)
	}
	return c
}

// TestWSDeclaredLengthHoldsNoMemory: 1,000 WebSocket connections that each
// send a frame header declaring almost a megabyte (under MaxHTTPBufferSize),
// then one byte of it, make the server hold memory in proportion to what they
// sent, not to what they declared; it returns when they leave.
func TestWSDeclaredLengthHoldsNoMemory(t *testing.T) {
	const conns = 1000
	const declared = 999_000
	d := stStart(t, func(s *Session) { s.Receive(func(Message) {}, func(error) {}) }, stOptions())
	before := heapInUse()
	var hdr []byte
	hdr = append(hdr, 0x81, 0x80|127)
	hdr = binary.BigEndian.AppendUint64(hdr, declared)
	hdr = append(hdr, 1, 2, 3, 4) // the mask key
	cs := make([]net.Conn, 0, conns)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for range conns {
		c := rawWSUpgrade(t, d)
		cs = append(cs, c)
		if _, err := c.Write(hdr); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the sessions", func() bool { return d.srv.Len() == conns })
	// The server reads what comes as it comes: the header first, then,
	// apart, one byte of the payload.
	time.Sleep(200 * time.Millisecond)
	for _, c := range cs {
		if _, err := c.Write([]byte{'4' ^ 1}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	held := int64(heapInUse()) - int64(before)
	t.Logf("%d connections, each declaring %d bytes and sending 1: heap +%d KiB (%d bytes each)",
		conns, declared, held>>10, held/conns)
	// Each connection costs its session, its connection state, the client's
	// side in this process, and a read buffer of at most readGrowMin... not
	// the megabyte (1 GB in all) that was declared.
	if limit := int64(conns * 8 << 10); held > limit {
		t.Fatalf("heap grew by %d bytes for %d connections, want at most %d", held, conns, limit)
	}
	for _, c := range cs {
		c.Close()
	}
	cs = nil
	waitFor(t, "the sessions to end", func() bool { return d.srv.Len() == 0 })
	// Connections close asynchronously after their session is removed.
	var after int64
	for range 50 {
		after = int64(heapInUse()) - int64(before)
		if after < 1<<20 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after they left: heap %+d KiB", after>>10)
	if after >= 1<<20 {
		t.Fatalf("heap still %d bytes above its start after the connections left", after)
	}
}

// TestPollingPausedSessionBoundsTinyMessages: while the receiver has paused
// the session, a POST of a megabyte of empty messages ("4\x1e4\x1e...", each
// counting no data byte) is taken only as far as the inbound limit allows,
// counting every message's place in the queue: the POST waits, the queue and
// the heap stay bounded, and every message is delivered once the receiver
// resumes.
func TestPollingPausedSessionBoundsTinyMessages(t *testing.T) {
	var got atomic.Int64
	sessions := make(chan *Session, 1)
	d := stStart(t, func(s *Session) {
		s.Pause()
		s.Receive(func(Message) { got.Add(1) }, func(error) {})
		sessions <- s
	}, stOptions())
	sid := d.handshake()
	s := <-sessions
	const msgs = 500_000
	body := strings.Repeat("4\x1e", msgs-1) + "4" // ~1 MB, under MaxHTTPBufferSize
	before := heapInUse()
	answered := make(chan stResponse, 1)
	go func() {
		res, err := http.Post(d.base+"?"+d.poll(sid), "text/plain", strings.NewReader(body))
		if err != nil {
			answered <- stResponse{status: -1}
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		answered <- stResponse{status: res.StatusCode, body: string(b)}
	}()
	max := d.srv.opts.MaxHTTPBufferSize
	bound := max/inMsgOverhead + 1
	waitFor(t, "the queue to fill", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.in.len() >= bound
	})
	select {
	case r := <-answered:
		t.Fatalf("the POST was answered while the session is paused: %d %q", r.status, r.body)
	case <-time.After(200 * time.Millisecond):
	}
	s.mu.Lock()
	queued, charged := s.in.len(), s.in.charged
	s.mu.Unlock()
	held := int64(heapInUse()) - int64(before)
	t.Logf("paused: %d messages queued, charged %d bytes; heap +%d KiB", queued, charged, held>>10)
	if queued > bound || charged > max+inMsgOverhead {
		t.Fatalf("%d messages queued (charged %d), want at most %d (%d)", queued, charged, bound, max+inMsgOverhead)
	}
	// The body (1 MB, which the test holds too) and the queue (up to
	// MaxHTTPBufferSize, twice that for append's spare room).
	if held > int64(4*max) {
		t.Fatalf("heap grew by %d bytes", held)
	}
	s.Resume()
	select {
	case r := <-answered:
		if r.status != http.StatusOK || r.body != "ok" {
			t.Fatalf("POST: %d %q", r.status, r.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the POST was not answered after Resume")
	}
	waitFor(t, "every message", func() bool { return got.Load() == msgs })
}

// TestPollingPostDeclaredLengthHoldsNoMemory: POSTs that declare a body of
// 64 KiB and send none of it make the server hold memory in proportion to
// what was sent (net/http's per-connection state and a small buffer), not
// the declared length.
func TestPollingPostDeclaredLengthHoldsNoMemory(t *testing.T) {
	const posts = 300
	d := stStart(t, stEcho, stOptions())
	sids := make([]string, posts)
	for i := range sids {
		sids[i] = d.handshake()
	}
	http.DefaultClient.CloseIdleConnections()
	u, _ := url.Parse(d.hs.URL)
	before := heapInUse()
	cs := make([]net.Conn, 0, posts)
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	for _, sid := range sids {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		req := "POST " + d.srv.opts.Path + "?" + d.poll(sid) + " HTTP/1.1\r\nHost: " + u.Host +
			"\r\nContent-Type: text/plain\r\nContent-Length: 65536\r\n\r\n4"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the POSTs to be read", func() bool {
		n := 0
		for _, sid := range sids {
			if s := d.srv.lookup(sid); s != nil {
				s.mu.Lock()
				if s.posting {
					n++
				}
				s.mu.Unlock()
			}
		}
		return n == posts
	})
	time.Sleep(100 * time.Millisecond)
	held := int64(heapInUse()) - int64(before)
	t.Logf("%d POSTs declaring 64 KiB and sending 1 byte: heap +%d KiB (%d bytes each)", posts, held>>10, held/posts)
	// net/http holds about 10 KiB per connection (its buffers, the request);
	// the 64 KiB declared must not be added to it.
	if limit := int64(posts * 24 << 10); held > limit {
		t.Fatalf("heap grew by %d bytes for %d POSTs, want at most %d", held, posts, limit)
	}
}

// TestPollingPostSilentBodyTimesOut: a POST that declares a body and stops
// sending it is dropped after PingInterval+PingTimeout, instead of holding
// its connection and goroutine for as long as the client likes.
func TestPollingPostSilentBodyTimesOut(t *testing.T) {
	sessions, handler := newSTSessions(nil)
	opts := &ServerOptions{PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond}
	d := stStart(t, handler, opts)
	sid := d.handshake()
	s := sessions.next(t)
	u, _ := url.Parse(d.hs.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "POST " + d.srv.opts.Path + "?" + d.poll(sid) + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hello"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still holds the POST after %v", time.Since(start))
	}
	t.Logf("connection ended after %v (%v)", time.Since(start).Round(time.Millisecond), err)
	if err := stWaitClosedSession(t, s); err == nil {
		t.Fatal("session not closed")
	}
}

// TestPollingChunkedPostLimit: a POST without a Content-Length (chunked) is
// refused with 413 once it passes MaxHTTPBufferSize, even when its last
// bytes come together with the end of the body (one write: net/http's
// reader returns them with io.EOF); at the limit it is taken.
func TestPollingChunkedPostLimit(t *testing.T) {
	opts := stOptions()
	opts.MaxHTTPBufferSize = 100
	d := stStart(t, stEcho, opts)
	sid := d.handshake()
	u, _ := url.Parse(d.hs.URL)
	post := func(body string) string {
		t.Helper()
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req := "POST " + d.srv.opts.Path + "?" + d.poll(sid) + " HTTP/1.1\r\nHost: " + u.Host +
			"\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		var b [64]byte
		n, _ := io.ReadAtLeast(c, b[:], 12)
		return string(b[:n])
	}
	for _, n := range []int{101, 1000} {
		if got := post("4" + strings.Repeat("x", n-1)); !strings.HasPrefix(got, "HTTP/1.1 413 ") {
			t.Fatalf("%d bytes: %q", n, got)
		}
	}
	if got := post("4" + strings.Repeat("x", 99)); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Fatalf("100 bytes: %q", got)
	}
	if r := d.get(d.poll(sid)); r.body != "4"+strings.Repeat("x", 99) {
		t.Fatalf("poll: %q", r.body)
	}
}

// TestWSPushQueueBounded: after Resume, a goroutine of the server delivers
// the messages held back while the connection's reader reads what comes
// meanwhile and queues it behind them; a peer that sends faster than the
// receiver takes them must not grow that queue past the inbound limit.
// Every message still arrives.
func TestWSPushQueueBounded(t *testing.T) {
	const msgs = 50_000
	opts := stOptions()
	opts.MaxHTTPBufferSize = 100_000
	var got, maxQueued atomic.Int64
	sessions := make(chan *Session, 1)
	d := stStart(t, func(s *Session) {
		s.Pause()
		s.Receive(func(Message) {
			n := got.Add(1)
			if n == 1 {
				// The delivery of what was held back is slow: the peer's
				// messages arrive meanwhile.
				time.Sleep(300 * time.Millisecond)
			}
			for t := time.Now(); time.Since(t) < 5*time.Microsecond; {
			}
			if n%100 == 0 {
				s.mu.Lock()
				q := int64(s.in.len())
				s.mu.Unlock()
				if q > maxQueued.Load() {
					maxQueued.Store(q)
				}
			}
		}, func(error) {})
		sessions <- s
	}, opts)
	w := rawWSOpen(t, d, nil)
	s := <-sessions
	// A message held back by the pause (one read as the receiver paused).
	s.mu.Lock()
	s.in.push(Message{Data: []byte("held")})
	s.mu.Unlock()
	s.Resume()
	time.Sleep(100 * time.Millisecond) // its delivery has begun
	sent := make(chan error, 1)
	go func() {
		_, err := w.c.Write(bytes.Repeat(clientFrame(0x81, []byte("4"), true), msgs))
		sent <- err
	}()
	waitFor(t, "every message", func() bool { return got.Load() == msgs+1 })
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	bound := int64(opts.MaxHTTPBufferSize/inMsgOverhead + 1)
	t.Logf("%d messages; at most %d queued (bound %d)", msgs, maxQueued.Load(), bound)
	if maxQueued.Load() > bound {
		t.Fatalf("%d messages queued, want at most %d", maxQueued.Load(), bound)
	}
}
