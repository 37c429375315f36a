package testutil

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// RawWebSocket opens a WebSocket-only Engine.IO session on host at path
// ("/engine.io/" or "/socket.io/") by hand, over a plain TCP connection with no
// goroutine and a small buffer (so that a test counting the server's memory
// counts little of the client's), and reads the open packet. Server frames are
// then read with ReadTextFrame from the returned reader.
func RawWebSocket(t testing.TB, host, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET " + path + "?EIO=4&transport=websocket HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(c, 512)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	if p := ReadTextFrame(t, br); !strings.HasPrefix(p, "0{") {
		t.Fatalf("open frame %q", p)
	}
	return c, br
}

// ReadTextFrame reads one unmasked server frame with a 7-bit length.
func ReadTextFrame(t testing.TB, br *bufio.Reader) string {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, hdr[1]&0x7f)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return string(payload)
}
