package engineio

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/url"
	"runtime"
	"strings"
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
