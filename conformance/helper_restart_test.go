package conformance

// A rolling restart of a two-node helper cluster on Redis under official
// clients: each node in turn is shut down (ServerHelper.Shutdown) and a new
// one takes its address; every client must come back and authenticate again
// by itself.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

type restartNode struct {
	h    *helper.ServerHelper
	hs   *http.Server
	addr string
}

func startRestartNode(t *testing.T, redisURL, addr string) *restartNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := redis.Dial(ctx, redisURL, &redis.Options{RequestsTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h, err := helper.NewServerHelper(ctx, &helper.ServerOptions{
		Logger:       helperQuiet,
		SocketIO:     &socketio.ServerOptions{Logger: helperQuiet},
		Authenticate: helperTokenAuth,
		Cluster:      rc,
	})
	if err != nil {
		rc.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		h.Shutdown(ctx)
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	return &restartNode{h: h, hs: hs, addr: ln.Addr().String()}
}

func (n *restartNode) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.h.Shutdown(ctx); err != nil {
		t.Errorf("helper shutdown: %v", err)
	}
	if err := n.hs.Shutdown(ctx); err != nil {
		t.Errorf("http shutdown: %v", err)
	}
}

func TestHelperRollingRestart(t *testing.T) {
	const nGo, nNode = 25, 25 // client i of each kind uses node i%2
	rs := testutil.StartRedis(t)
	nodes := []*restartNode{startRestartNode(t, rs.URL(), "127.0.0.1:0"), startRestartNode(t, rs.URL(), "127.0.0.1:0")}
	t.Cleanup(func() {
		for _, n := range nodes {
			n.stop(t)
		}
	})
	urls := []string{"http://" + nodes[0].addr, "http://" + nodes[1].addr}

	// Our Go client helpers, which authenticate again by themselves
	// (Reauthenticate).
	var mu sync.Mutex
	goAuths := make([]int, nGo)
	var bad []string
	for i := 0; i < nGo; i++ {
		c, err := helper.NewClientHelper(&helper.ClientOptions{
			Host:           urls[i%2],
			Auth:           map[string]any{"token": fmt.Sprintf("tok-g%d", i)},
			Transports:     []string{"websocket"},
			Logger:         helperQuiet,
			Manager:        &socketio.ManagerOptions{ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond},
			Reauthenticate: true,
			OnAuthenticated: func(helper.AuthenticatedEvent) {
				mu.Lock()
				goAuths[i]++
				mu.Unlock()
			},
			OnDisconnected: func(r socketio.DisconnectReason) {
				if r != "transport close" {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("go client %d: %s", i, r))
					mu.Unlock()
				}
			},
			OnUnauthenticated: func(ev helper.UnauthenticatedEvent) {
				mu.Lock()
				bad = append(bad, fmt.Sprintf("go client %d unauthenticated: %s", i, ev.Message))
				mu.Unlock()
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The seed's client helpers (npm socket.io-client underneath), which
	// authenticate in onConnected as the seed's apps do.
	p := testutil.StartNode(t, "conformance/node/restart_ignis_clients.js", t.TempDir(), strconv.Itoa(nNode), urls[0], urls[1])

	// counts returns, for each client, how many times it authenticated.
	counts := func() ([]int, []int) {
		mu.Lock()
		g := append([]int(nil), goAuths...)
		mu.Unlock()
		nd := make([]int, nNode)
		for _, l := range p.Lines() {
			if f := strings.Fields(l); len(f) == 4 && f[1] == "auth" {
				if i, err := strconv.Atoi(f[2]); err == nil && i >= 0 && i < nNode {
					nd[i]++
				}
			}
		}
		return g, nd
	}
	// clusterOK reports whether the cluster lists every client, authenticated
	// under its own user.
	clusterOK := func(via *restartNode) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := via.h.ClusterClients(ctx)
		if err != nil {
			return err
		}
		users := map[string]bool{}
		for _, ci := range list {
			if ci.State == helper.StateAuthenticated {
				users[ci.UserID] = true
			}
		}
		for i := 0; i < nGo; i++ {
			if !users[fmt.Sprintf("g%d", i)] {
				return fmt.Errorf("user g%d not authenticated in the cluster (%d sockets listed)", i, len(list))
			}
		}
		for i := 0; i < nNode; i++ {
			if !users[fmt.Sprintf("u%d", i)] {
				return fmt.Errorf("user u%d not authenticated in the cluster (%d sockets listed)", i, len(list))
			}
		}
		return nil
	}
	// waitAll waits until every client of node k (every client when k < 0)
	// authenticated more than before[...] times and the cluster lists all.
	waitAll := func(k int, beforeGo, beforeNode []int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			g, nd := counts()
			missing := 0
			for i := range g {
				if (k < 0 || i%2 == k) && g[i] <= beforeGo[i] {
					missing++
				}
			}
			for i := range nd {
				if (k < 0 || i%2 == k) && nd[i] <= beforeNode[i] {
					missing++
				}
			}
			var cerr error
			if missing == 0 {
				if cerr = clusterOK(nodes[0]); cerr == nil {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d clients not authenticated again; cluster: %v", missing, cerr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	zeroGo, zeroNode := make([]int, nGo), make([]int, nNode)
	waitAll(-1, zeroGo, zeroNode)
	for k, name := range []string{"A", "B"} {
		beforeGo, beforeNode := counts()
		start := time.Now()
		addr := nodes[k].addr
		nodes[k].stop(t)
		nodes[k] = startRestartNode(t, rs.URL(), addr)
		waitAll(k, beforeGo, beforeNode)
		onNode := (nGo+1-k)/2 + (nNode+1-k)/2
		t.Logf("restart of node %s: its %d clients (of %d) reconnected and authenticated again in %v",
			name, onNode, nGo+nNode, time.Since(start).Round(time.Millisecond))
		// Only the restarted node's clients reconnected.
		g, nd := counts()
		for i := range g {
			if i%2 != k && g[i] != beforeGo[i] {
				t.Fatalf("go client %d of the other node authenticated again", i)
			}
		}
		for i := range nd {
			if i%2 != k && nd[i] != beforeNode[i] {
				t.Fatalf("node client %d of the other node authenticated again", i)
			}
		}
	}
	for _, l := range p.Lines() {
		if f := strings.Fields(l); len(f) >= 3 && (f[1] == "unauth" || f[1] == "disc" && strings.Join(f[3:], " ") != "transport close") {
			bad = append(bad, "node "+l)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("unexpected events:\n%s", strings.Join(bad, "\n"))
	}
}
