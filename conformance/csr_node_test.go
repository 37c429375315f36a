package conformance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
)

// TestCSRNodeClient: npm socket.io-client 4.8 against the Go server with
// connection state recovery. The client drops its transport
// (socket.io.engine.close()), then the server closes it, while the server
// emits to the socket, to its room and to everybody: each time the client
// comes back recovered (same id, rooms and data) and gets every missed event
// once, in order. Past the window it gets a fresh session.
func TestCSRNodeClient(t *testing.T) {
	testutil.NodeModules(t)
	const window = 2 * time.Second
	for _, mode := range []string{"websocket", "polling"} {
		t.Run(mode, func(t *testing.T) {
			cs := startCSRServer(t, window)
			node := testutil.StartNode(t, "conformance/node/csr_client.js", cs.url, mode,
				strconv.Itoa(int(window/time.Millisecond)))
			node.WaitLine(t, "done", 60*time.Second)
			lines := node.Lines()
			for _, l := range lines {
				if strings.HasPrefix(l, "fail ") {
					t.Errorf("node: %s", l)
				}
				if strings.HasPrefix(l, "replayed-before-connect ") {
					t.Log(l)
				}
			}
			for _, s := range []string{"connect-with-pid", "offset-on-events", "client-drop-recovers",
				"server-drop-recovers", "offsets-distinct", "past-window-fresh-session"} {
				if !contains(lines, "ok "+s) {
					t.Errorf("step %s did not pass", s)
				}
			}
		})
	}
}
