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
