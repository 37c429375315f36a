package helper_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter/redis"
	"github.com/corvid-io/corvid/helper"
	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// dialCluster connects to Redis in mode: "classic", "sharded" (pub/sub
// adapters) or "streams".
func dialCluster(t *testing.T, url, mode string) helper.Cluster {
	t.Helper()
	ctx := ctx10(t)
	if mode == "streams" {
		st, err := redis.DialStreams(ctx, url, &redis.StreamsOptions{RequestsTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	rc, err := redis.DialMode(ctx, url, mode, &redis.Options{RequestsTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

var clusterModes = []string{"classic", "sharded", "streams"}

func TestClusterTwoNodes(t *testing.T) {
	rs := testutil.StartRedis(t)
	for _, mode := range clusterModes {
		t.Run(mode, func(t *testing.T) {
			ha, urlA := newServer(t, &helper.ServerOptions{Cluster: dialCluster(t, rs.URL(), mode)})
			hb, urlB := newServer(t, &helper.ServerOptions{Cluster: dialCluster(t, rs.URL(), mode)})
			a, _ := newClient(t, urlA, "tok-alice", nil)
			b, _ := newClient(t, urlB, "tok-bob", nil)
			connectAuth(t, a)
			connectAuth(t, b)
			got := make(chan string, 8)
			helper.Subscribe(a, "msg", func(s string) { got <- "a:" + s })
			helper.Subscribe(b, "msg", func(s string) { got <- "b:" + s })
			ctx := ctx10(t)
			if err := hb.Send(ctx, helper.ToUser("alice"), "msg", "user from B"); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); m != "a:user from B" {
				t.Fatalf("got %q", m)
			}
			if err := ha.Send(ctx, helper.ToSocket(b.ID()), "msg", "socket from A"); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); m != "b:socket from A" {
				t.Fatalf("got %q", m)
			}
			if err := hb.Broadcast(ctx, "msg", "all"); err != nil {
				t.Fatal(err)
			}
			if m1, m2 := recv(t, got), recv(t, got); !(m1 == "a:all" && m2 == "b:all" || m1 == "b:all" && m2 == "a:all") {
				t.Fatalf("broadcast got %q %q", m1, m2)
			}
			select {
			case m := <-got:
				t.Fatalf("extra message %q (a local delivery twice?)", m)
			case <-time.After(100 * time.Millisecond):
			}
			list, err := hb.ClusterClients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var remote *helper.ClientInfo
			for i := range list {
				if list[i].ID == a.ID() {
					remote = &list[i]
				}
			}
			if len(list) != 2 || remote == nil || remote.Local || remote.State != helper.StateAuthenticated || remote.UserID != "alice" {
				t.Fatalf("cluster list %+v", list)
			}
			if d, _ := remote.Data.(map[string]any); d["name"] != "alice" {
				t.Fatalf("remote identity data %#v", remote.Data)
			}
		})
	}
}

func TestClusterShutdownClosesIt(t *testing.T) {
	rs := testutil.StartRedis(t)
	count := func() int {
		out, err := rs.Command("CLIENT", "LIST")
		if err != nil {
			t.Fatal(err)
		}
		return len(strings.Split(strings.TrimSpace(out), "\n")) - 1 // minus redis-cli itself
	}
	h, err := helper.NewServerHelper(context.Background(), &helper.ServerOptions{
		Authenticate: tokenAuth, Logger: quiet, SocketIO: &socketio.ServerOptions{Logger: quiet},
		Cluster: dialCluster(t, rs.URL(), "classic"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(); n < 1 {
		t.Fatalf("%d Redis connections with the adapter", n)
	}
	ctx := ctx10(t)
	if err := h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() != 0 {
		if time.Now().After(deadline) {
			out, _ := rs.Command("CLIENT", "LIST")
			t.Fatalf("connections left after Shutdown:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}

	srv := socketio.NewServer(&socketio.ServerOptions{Logger: quiet})
	defer srv.Shutdown(ctx)
	cl := dialCluster(t, rs.URL(), "classic")
	defer cl.Close()
	if _, err := helper.NewServerHelper(ctx, &helper.ServerOptions{
		Authenticate: tokenAuth, Logger: quiet, Server: srv, Cluster: cl,
	}); err == nil {
		t.Fatal("Cluster with Server accepted")
	}
}
