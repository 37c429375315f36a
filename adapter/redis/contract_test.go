package redis

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corvid-io/corvid/adapter"
	"github.com/corvid-io/corvid/adapter/adaptertest"
	"github.com/corvid-io/corvid/internal/testutil"
)

var keySeq atomic.Int64

// newTestClient dials srvURL with a key of its own; it is closed at the end of t.
func newTestClient(t testing.TB, url string, o Options) *Client {
	t.Helper()
	if o.Key == "" {
		o.Key = "test" + strconv.FormatInt(keySeq.Add(1), 10)
	}
	if o.RequestsTimeout == 0 {
		o.RequestsTimeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func runContract(t *testing.T, mode Mode, sub SubscriptionMode) {
	srv := testutil.StartRedis(t)
	adaptertest.Run(t, func(t *testing.T) adapter.Factory {
		return newTestClient(t, srv.URL(), Options{Mode: mode, SubscriptionMode: sub}).NewAdapter
	})
}

func TestContractClassic(t *testing.T)        { runContract(t, Classic, Dynamic) }
func TestContractShardedDynamic(t *testing.T) { runContract(t, Sharded, Dynamic) }
func TestContractShardedStatic(t *testing.T)  { runContract(t, Sharded, Static) }

// The contract suite with a second Go server on the same channels: the
// operations are published and the peer (which has no sockets) answers the
// requests, so ServerCount is 2 and server-side emits get one answer.
func runContractTwoNodes(t *testing.T, mode Mode) {
	srv := testutil.StartRedis(t)
	adaptertest.Run(t, func(t *testing.T) adapter.Factory {
		c := newTestClient(t, srv.URL(), Options{Mode: mode})
		peer := newTestClient(t, srv.URL(), Options{Mode: mode, Key: c.opts.Key})
		return func(ns adapter.Namespace) (adapter.Adapter, error) {
			pns := newTestNS(ns.Name())
			pa, err := peer.NewAdapter(pns)
			if err != nil {
				return nil, err
			}
			pns.a = pa
			t.Cleanup(func() { pa.Close(context.Background()) })
			return c.NewAdapter(ns)
		}
	})
}

func TestContractTwoNodesClassic(t *testing.T) { runContractTwoNodes(t, Classic) }
func TestContractTwoNodesSharded(t *testing.T) { runContractTwoNodes(t, Sharded) }
