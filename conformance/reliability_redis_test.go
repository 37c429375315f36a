package conformance

import (
	"sync"
	"testing"
	"time"

	"github.com/corvid-io/corvid/internal/testutil"
	"github.com/corvid-io/corvid/socketio"
)

// TestReliabilityRedisRestart: Redis is killed and restarted while two nodes
// broadcast numbered events to each other's clients. The adapter's guarantee
// (adapter/redis doc: at most once through pub/sub, local delivery goes on,
// cross-node delivery resumes once Redis is back) is what must hold: local
// clients miss nothing, remote clients get no duplicate and nothing out of
// order, and cross-node delivery resumes. How long it stopped and how many
// events were lost are logged (figures, not assertions).
func TestReliabilityRedisRestart(t *testing.T) {
	outage := time.Second
	if relLong() {
		outage = 10 * time.Second
	}
	r := testutil.StartRedis(t)
	a, b := startRelNode(t, r.URL()), startRelNode(t, r.URL())
	// One client on each node; each node broadcasts "seq" from its own number
	// line (a: even, b: odd).
	type rec struct {
		mu   sync.Mutex
		seen map[int][]time.Time // by sender: arrival times, index = number
		nums map[int][]int
	}
	recs := make([]*rec, 2)
	for i, node := range []*relNode{a, b} {
		cs, _ := relClients(t, node.hs.URL, 1, "none")
		rc := &rec{seen: map[int][]time.Time{}, nums: map[int][]int{}}
		recs[i] = rc
		cs[0].On("seq", func(args socketio.Args, _ socketio.AckFunc) {
			var from, n int
			_ = args.Decode(0, &from)
			_ = args.Decode(1, &n)
			rc.mu.Lock()
			rc.nums[from] = append(rc.nums[from], n)
			rc.seen[from] = append(rc.seen[from], time.Now())
			rc.mu.Unlock()
		})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sent := make([]int, 2)
	var stoppedAt, restartedAt time.Time
	for i, node := range []*relNode{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					sent[i] = n
					return
				case <-time.After(5 * time.Millisecond):
					_ = node.srv.Emit("seq", i, n) // the error during the outage is expected
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	stoppedAt = time.Now()
	r.Stop()
	time.Sleep(outage)
	r.Start()
	restartedAt = time.Now()
	// Wait until both nodes deliver across again, then a little more.
	deadline := time.Now().Add(30 * time.Second)
	resumed := func(rc *rec, from int) bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		ts := rc.seen[from]
		return len(ts) > 0 && ts[len(ts)-1].After(restartedAt)
	}
	for !(resumed(recs[0], 1) && resumed(recs[1], 0)) {
		if time.Now().After(deadline) {
			close(stop)
			wg.Wait()
			t.Fatal("cross-node delivery did not resume within 30 s of the restart")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	time.Sleep(300 * time.Millisecond)
	for i, rc := range recs {
		rc.mu.Lock()
		local, remote := rc.nums[i], rc.nums[1-i]
		// Local: every event, in order.
		for k, n := range local {
			if n != k {
				t.Errorf("node %d's local client: event %d is %d (local delivery must not lose)", i, k, n)
				break
			}
		}
		// Remote: increasing (no duplicate, no reordering); the gap is the loss.
		var gap time.Duration
		var lost int
		for k := 1; k < len(remote); k++ {
			if remote[k] <= remote[k-1] {
				t.Errorf("node %d's client got %d after %d from the other node", i, remote[k], remote[k-1])
			}
			if d := remote[k] - remote[k-1] - 1; d > 0 {
				lost += d
				if g := rc.seen[1-i][k].Sub(rc.seen[1-i][k-1]); g > gap {
					gap = g
				}
			}
		}
		t.Logf("client on node %d: %d local events of %d sent; from the other node %d received, %d lost, longest gap %v (Redis down %v, back up at +%v)",
			i, len(local), sent[i], len(remote), lost, gap.Round(time.Millisecond), outage, restartedAt.Sub(stoppedAt).Round(time.Millisecond))
		rc.mu.Unlock()
	}
}
