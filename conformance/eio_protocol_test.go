package conformance

// The 24 cases of the official Engine.IO v4 suite (engine.io-protocol
// test-suite/test-suite.js, cited E1-E24), written from the protocol notes and
// run against our server on a loopback port with net/http and coder/websocket.

import (
	"context"
	"net/http"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestEIOProtocol(t *testing.T) {
	// hb has the suite's settings (300/200 ms), for the handshake and heartbeat
	// cases; d pings rarely, so that the other cases cannot run into a ping
	// timeout on a loaded machine.
	hb := startEIO(t, eioEchoHandler, suiteOptions())
	slow := suiteOptions()
	slow.PingInterval, slow.PingTimeout = time.Minute, time.Minute
	d := startEIO(t, eioEchoHandler, slow)

	// E1
	t.Run("handshake/polling/opens a session", func(t *testing.T) {
		status, body := hb.get("EIO=4&transport=polling")
		if status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		open := d.openPacket(body)
		keys := make([]string, 0, len(open))
		for k := range open {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if want := []string{"maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"}; !reflect.DeepEqual(keys, want) {
			t.Errorf("keys %v, want %v", keys, want)
		}
		if !reflect.DeepEqual(open["upgrades"], []any{"websocket"}) || open["pingInterval"] != 300.0 ||
			open["pingTimeout"] != 200.0 || open["maxPayload"] != 1000000.0 {
			t.Errorf("open packet %v", open)
		}
	})
	// E2
	t.Run("handshake/polling/invalid EIO", func(t *testing.T) {
		for _, q := range []string{"transport=polling", "EIO=abc&transport=polling"} {
			if status, _ := d.get(q); status != http.StatusBadRequest {
				t.Errorf("%s: status %d", q, status)
			}
		}
	})
	// E3
	t.Run("handshake/polling/invalid transport", func(t *testing.T) {
		for _, q := range []string{"EIO=4", "EIO=4&transport=abc"} {
			if status, _ := d.get(q); status != http.StatusBadRequest {
				t.Errorf("%s: status %d", q, status)
			}
		}
	})
	// E4
	t.Run("handshake/polling/invalid method", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPut} {
			if status, _ := d.do(m, "EIO=4&transport=polling", ""); status != http.StatusBadRequest {
				t.Errorf("%s: status %d", m, status)
			}
		}
	})
	// E5
	t.Run("handshake/websocket/opens a session", func(t *testing.T) {
		c := hb.dial("EIO=4&transport=websocket")
		typ, msg := wsRead(t, c)
		if typ != websocket.MessageText {
			t.Fatalf("type %v", typ)
		}
		open := d.openPacket(msg)
		if !reflect.DeepEqual(open["upgrades"], []any{}) || len(open) != 5 {
			t.Errorf("open packet %v", open)
		}
	})
	// E6, E7 (the suite asserts nothing there; we check that the WebSocket is refused)
	t.Run("handshake/websocket/invalid EIO or transport", func(t *testing.T) {
		for _, q := range []string{"transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, res, err := websocket.Dial(ctx, d.wsURL(q), nil)
			cancel()
			if err == nil {
				c.CloseNow()
				t.Errorf("%s: accepted", q)
			} else if res == nil || res.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %v", q, err)
			}
		}
	})
	// E8
	t.Run("message/polling/one text packet", func(t *testing.T) {
		sid := d.handshake()
		if status, body := d.post("EIO=4&transport=polling&sid="+sid, "4hello"); status != 200 || body != "ok" {
			t.Fatalf("POST: %d %q", status, body)
		}
		if _, body := d.get("EIO=4&transport=polling&sid=" + sid); body != "4hello" {
			t.Errorf("GET %q", body)
		}
	})
	// E9
	t.Run("message/polling/several text packets", func(t *testing.T) {
		sid := d.handshake()
		payload := "4hello\x1e4€world\x1e4!"
		d.post("EIO=4&transport=polling&sid="+sid, payload)
		if _, body := d.get("EIO=4&transport=polling&sid=" + sid); body != payload {
			t.Errorf("GET %q", body)
		}
	})
	// E10
	t.Run("message/polling/text and binary packets", func(t *testing.T) {
		sid := d.handshake()
		payload := "4hello\x1ebAQIDBA=="
		d.post("EIO=4&transport=polling&sid="+sid, payload)
		if _, body := d.get("EIO=4&transport=polling&sid=" + sid); body != payload {
			t.Errorf("GET %q", body)
		}
	})
	// E11
	t.Run("message/polling/invalid packet closes", func(t *testing.T) {
		sid := d.handshake()
		d.post("EIO=4&transport=polling&sid="+sid, "abc")
		if status, _ := d.get("EIO=4&transport=polling&sid=" + sid); status != http.StatusBadRequest {
			t.Errorf("GET after a bad payload: %d", status)
		}
	})
	// E12
	t.Run("message/polling/duplicate poll closes", func(t *testing.T) {
		sid := d.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		first := make(chan [2]any, 1)
		go func() {
			status, body := d.get(q)
			first <- [2]any{status, body}
		}()
		d.waitHeldPoll(sid)
		status, _ := d.get(q)
		if status != http.StatusBadRequest {
			t.Errorf("second GET: %d", status)
		}
		if r := <-first; r[0] != 200 || r[1] != "1" {
			t.Errorf("first GET: %v", r)
		}
		if status, _ := d.get(q); status != http.StatusBadRequest {
			t.Errorf("GET after: %d", status)
		}
	})
	// E13
	t.Run("message/websocket/text", func(t *testing.T) {
		c := d.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		wsWrite(t, c, "4hello")
		if typ, msg := wsReadSkipPings(t, c); typ != websocket.MessageText || msg != "4hello" {
			t.Errorf("got %v %q", typ, msg)
		}
	})
	// E14
	t.Run("message/websocket/binary", func(t *testing.T) {
		c := d.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		if err := c.Write(context.Background(), websocket.MessageBinary, []byte{1, 2, 3, 4}); err != nil {
			t.Fatal(err)
		}
		if typ, msg := wsReadSkipPings(t, c); typ != websocket.MessageBinary || msg != "\x01\x02\x03\x04" {
			t.Errorf("got %v %q", typ, msg)
		}
	})
	// E15
	t.Run("message/websocket/invalid packet closes", func(t *testing.T) {
		c := d.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		wsWrite(t, c, "abc")
		wsWaitClosed(t, c)
	})
	// E16
	t.Run("heartbeat/polling/ping pong", func(t *testing.T) {
		sid := hb.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		for i := 0; i < 3; i++ {
			if _, body := hb.get(q); body != "2" {
				t.Fatalf("ping %d: %q", i, body)
			}
			if status, _ := hb.post(q, "3"); status != 200 {
				t.Fatalf("pong %d: %d", i, status)
			}
		}
	})
	// E17 (the suite sleeps exactly pingInterval+pingTimeout; here the held poll
	// is released with the close packet when the timeout fires)
	t.Run("heartbeat/polling/ping timeout", func(t *testing.T) {
		sid := hb.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		if _, body := hb.get(q); body != "2" {
			t.Fatalf("ping: %q", body)
		}
		if _, body := hb.get(q); body != "1" {
			t.Fatalf("after the ping timeout: %q", body)
		}
		if status, _ := hb.get(q); status != http.StatusBadRequest {
			t.Errorf("GET after the ping timeout: %d", status)
		}
	})
	// E18
	t.Run("heartbeat/websocket/ping pong", func(t *testing.T) {
		c := hb.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		for i := 0; i < 3; i++ {
			if _, msg := wsRead(t, c); msg != "2" {
				t.Fatalf("ping %d: %q", i, msg)
			}
			wsWrite(t, c, "3")
		}
	})
	// E19
	t.Run("heartbeat/websocket/ping timeout", func(t *testing.T) {
		c := hb.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		wsWaitClosed(t, c)
	})
	// E20
	t.Run("close/polling", func(t *testing.T) {
		sid := d.handshake()
		q := "EIO=4&transport=polling&sid=" + sid
		got := make(chan string, 1)
		go func() {
			_, body := d.get(q)
			got <- body
		}()
		d.waitHeldPoll(sid)
		if status, _ := d.post(q, "1"); status != 200 {
			t.Errorf("POST close: %d", status)
		}
		if body := <-got; body != "6" {
			t.Errorf("held GET: %q", body)
		}
		if status, _ := d.get(q); status != http.StatusBadRequest {
			t.Errorf("GET after close: %d", status)
		}
	})
	// E21
	t.Run("close/websocket", func(t *testing.T) {
		c := d.dial("EIO=4&transport=websocket")
		wsRead(t, c)
		wsWrite(t, c, "1")
		wsWaitClosed(t, c)
	})
	// E22
	t.Run("upgrade/polling to websocket", func(t *testing.T) {
		sid := d.handshake()
		c := d.dial("EIO=4&transport=websocket&sid=" + sid)
		wsWrite(t, c, "2probe")
		if _, msg := wsRead(t, c); msg != "3probe" {
			t.Fatalf("probe answer %q", msg)
		}
		if status, body := d.get("EIO=4&transport=polling&sid=" + sid); status != 200 || body != "6" {
			t.Fatalf("poll during upgrade: %d %q", status, body)
		}
		wsWrite(t, c, "5")
		wsWrite(t, c, "4hello")
		if _, msg := wsReadSkipPings(t, c); msg != "4hello" {
			t.Errorf("echo after upgrade %q", msg)
		}
	})
	// E23
	t.Run("upgrade/polling after upgrade refused", func(t *testing.T) {
		sid := d.handshake()
		c := d.dial("EIO=4&transport=websocket&sid=" + sid)
		wsWrite(t, c, "2probe")
		wsRead(t, c)
		wsWrite(t, c, "5")
		// The echo proves the upgrade is complete (the suite sends the GET at once).
		wsWrite(t, c, "4hello")
		if _, msg := wsReadSkipPings(t, c); msg != "4hello" {
			t.Errorf("echo %q", msg)
		}
		if status, body := d.get("EIO=4&transport=polling&sid=" + sid); status != http.StatusBadRequest ||
			body != `{"code":3,"message":"Bad request"}` {
			t.Errorf("GET after upgrade: %d %q", status, body)
		}
		wsWrite(t, c, "4again")
		if _, msg := wsReadSkipPings(t, c); msg != "4again" {
			t.Errorf("echo %q", msg)
		}
	})
	// E24
	t.Run("upgrade/second websocket closed", func(t *testing.T) {
		sid := d.handshake()
		c := d.dial("EIO=4&transport=websocket&sid=" + sid)
		wsWrite(t, c, "2probe")
		wsRead(t, c)
		wsWrite(t, c, "5")
		wsWrite(t, c, "4first")
		if _, msg := wsReadSkipPings(t, c); msg != "4first" {
			t.Fatalf("echo %q", msg)
		}
		c2 := d.dial("EIO=4&transport=websocket&sid=" + sid)
		wsWaitClosed(t, c2)
		wsWrite(t, c, "4hello")
		if _, msg := wsReadSkipPings(t, c); msg != "4hello" {
			t.Errorf("echo %q", msg)
		}
	})
}
