package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// payloadSize is the size of the string every scenario but the binary one
// sends: the send time (16 digits, nanoseconds since the run began) and padding.
const payloadSize = 100

var padding = bytes.Repeat([]byte("x"), payloadSize-16)

// epoch is the origin of the payload timestamps.
var epoch = time.Now()

// appendPayload appends the JSON string of a fresh payload.
func appendPayload(b []byte) []byte {
	b = append(b, '"')
	n := len(b)
	b = strconv.AppendInt(b, int64(time.Since(epoch)), 10)
	for len(b)-n < 16 {
		b = append(b[:n+1], b[n:]...)
		b[n] = '0'
	}
	b = append(b, padding...)
	return append(b, '"')
}

var msgPrefix = []byte(`["msg","`)

// sentAt returns the timestamp of a received ["msg","<payload>"] event.
func sentAt(b []byte) (time.Duration, bool) {
	if len(b) < len(msgPrefix)+16 || !bytes.HasPrefix(b, msgPrefix) {
		return 0, false
	}
	var v int64
	for _, c := range b[len(msgPrefix) : len(msgPrefix)+16] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return time.Duration(v), true
}

// latencies collects one client's latency samples.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.d
	l.d = nil
	return d
}

// percentile returns the p-th percentile (0..100) of d, sorted in place.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// window measures the CPU of the server and of the load generator over a
// stretch of wall time, and how much of their CPUs other processes (or the
// hypervisor) took meanwhile.
type window struct {
	srv               *server
	t0                time.Time
	srv0, lg0         time.Duration
	core0S, core0L    time.Duration
	wall              time.Duration
	srvPct, lgPct     float64
	srvOther, lgOther float64 // -1: unknown
}

func startWindow(s *server) *window {
	w := &window{srv: s, t0: time.Now(), lg0: loadgenCPU(), srvOther: -1, lgOther: -1}
	if s != nil {
		w.srv0 = s.cpu()
		w.core0S, w.core0L = cpuBusy(s.coreS), cpuBusy(s.coreL)
	}
	return w
}

func (w *window) end() {
	w.wall = time.Since(w.t0)
	lg := loadgenCPU() - w.lg0
	w.lgPct = 100 * float64(lg) / float64(w.wall)
	if w.srv == nil {
		return
	}
	srv := w.srv.cpu() - w.srv0
	w.srvPct = 100 * float64(srv) / float64(w.wall)
	pct := func(busy, own time.Duration) float64 {
		return max(0, 100*float64(busy-own)/float64(w.wall))
	}
	if w.srv.coreS >= 0 {
		w.srvOther = pct(cpuBusy(w.srv.coreS)-w.core0S, srv)
	}
	if w.srv.coreL >= 0 {
		w.lgOther = pct(cpuBusy(w.srv.coreL)-w.core0L, lg)
	}
}

// cpuBusy returns the time CPU n spent running processes (user, nice,
// system) or stolen by the hypervisor (steal), from /proc/stat; 0 when n < 0
// or unknown. Interrupt time is left out: part of it is the run's own
// loopback network work, which the kernel may not charge to any process.
func cpuBusy(n int) time.Duration {
	if n < 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	prefix := "cpu" + strconv.Itoa(n) + " "
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		var busy uint64
		for i, f := range strings.Fields(line)[1:] {
			if i != 0 && i != 1 && i != 2 && i != 7 { // user nice system idle iowait irq softirq steal
				continue
			}
			v, _ := strconv.ParseUint(f, 10, 64)
			busy += v
		}
		return time.Duration(busy) * time.Second / clockTicks
	}
	return 0
}

// flow counts the deliveries of the receivers and paces a sender so that at
// most a window of deliveries are in flight.
type flow struct {
	delivered atomic.Int64
	recording atomic.Bool
	waiting   atomic.Bool
	wake      chan struct{}
	lat       []*latencies // per receiver
}

func newFlow(n int) *flow {
	f := &flow{wake: make(chan struct{}, 1), lat: make([]*latencies, n)}
	for i := range f.lat {
		f.lat[i] = &latencies{}
	}
	return f
}

// receiver returns the onEvent function of receiver i.
func (f *flow) receiver(i int) func(b []byte) {
	l := f.lat[i]
	return func(b []byte) {
		if f.recording.Load() {
			if at, ok := sentAt(b); ok {
				l.add(time.Since(epoch) - at)
			}
		}
		f.delivered.Add(1)
		if f.waiting.Load() {
			select {
			case f.wake <- struct{}{}:
			default:
			}
		}
	}
}

// takeSamples returns and clears the latencies of every receiver.
func (f *flow) takeSamples() [][]time.Duration {
	out := make([][]time.Duration, len(f.lat))
	for i, l := range f.lat {
		out[i] = l.take()
	}
	return out
}

// merge joins the samples of the receivers i for which keep(i) is true (all
// when keep is nil).
func merge(per [][]time.Duration, keep func(i int) bool) []time.Duration {
	var all []time.Duration
	for i, d := range per {
		if keep == nil || keep(i) {
			all = append(all, d...)
		}
	}
	return all
}

var errStalled = errors.New("harness: deliveries stalled")

// sendPaced sends frames as fast as the window allows: frame(i) is the i-th
// packet and per(i) the deliveries it causes. It stops at stop.
func (f *flow) sendPaced(ctx context.Context, ctrl *client, frame func(i int, b []byte) []byte, per func(i int) int64, window int64, stop <-chan struct{}) error {
	var expected int64
	var buf []byte
	for i := 0; ; i++ {
		for expected-f.delivered.Load() > window {
			f.waiting.Store(true)
			if expected-f.delivered.Load() <= window {
				f.waiting.Store(false)
				break
			}
			select {
			case <-f.wake:
			case <-stop:
				f.waiting.Store(false)
				return nil
			case <-time.After(10 * time.Second):
				return fmt.Errorf("%w: %d of %d", errStalled, f.delivered.Load(), expected)
			}
			f.waiting.Store(false)
		}
		select {
		case <-stop:
			return nil
		default:
		}
		buf = frame(i, buf[:0])
		if err := ctrl.send(ctx, buf); err != nil {
			return err
		}
		expected += per(i)
	}
}

// sendRate sends frame i at start + i/rate until stop; a sender that fell
// behind (a busy load generator) catches up instead of skipping sends.
func sendRate(ctx context.Context, ctrl *client, frame func(i int, b []byte) []byte, rate int, stop <-chan struct{}) error {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	t := time.NewTimer(interval)
	defer t.Stop()
	var buf []byte
	for i := 0; ; i++ {
		if wait := time.Until(start.Add(time.Duration(i+1) * interval)); wait > 0 {
			t.Reset(wait)
			select {
			case <-stop:
				return nil
			case <-t.C:
			}
		} else {
			select {
			case <-stop:
				return nil
			default:
			}
		}
		buf = frame(i, buf[:0])
		if err := ctrl.send(ctx, buf); err != nil {
			return err
		}
	}
}

// closedLoop runs one request/acknowledgement loop per client: frame(id, b)
// is the text packet of the request with ack id id, bins its attachments. It
// warms up, then measures rounds stretches of dur back to back.
type loopResult struct {
	acks int64
	lat  []time.Duration
	win  *window
}

// loopWorker is one client's share of a closed loop.
type loopWorker struct {
	n   []int64
	lat [][]time.Duration
	err error
}

// reactorLoopClient runs c's closed loop from the reactor's goroutine: each
// acknowledgement read sends the next request. It returns (calling done) once
// the last round is over or the client failed.
func reactorLoopClient(ctx context.Context, c *client, w *loopWorker, frame func(id uint64, b []byte) []byte, bins [][]byte, phase *atomic.Int32, rounds int, done func()) {
	defer done()
	var (
		id    uint64
		buf   []byte
		t0    atomic.Int64 // nanoseconds since epoch of the request in flight
		acked atomic.Int64
		stop  = make(chan error, 1)
	)
	send := func() error {
		buf = frame(id, buf[:0])
		id++
		t0.Store(int64(time.Since(epoch)))
		return c.send(ctx, buf, bins...)
	}
	next := func() {
		lat := time.Since(epoch) - time.Duration(t0.Load())
		acked.Add(1)
		p := int(phase.Load())
		if p >= 0 && p < rounds {
			w.n[p]++
			w.lat[p] = append(w.lat[p], lat)
		}
		if p >= rounds {
			stop <- nil
			return
		}
		if err := send(); err != nil {
			stop <- err
		}
	}
	c.onAck.Store(&next)
	defer c.onAck.Store(nil)
	if err := send(); err != nil {
		w.err = err
		return
	}
	stall := time.NewTimer(20 * time.Second)
	defer stall.Stop()
	var last int64
	for {
		select {
		case err := <-stop:
			w.err = err
			return
		case <-c.done:
			w.err = errors.New("harness: connection closed by the server")
			return
		case <-stall.C:
			// Progress is checked every 20 s: none means a lost request.
			total := acked.Load()
			if total == last {
				w.err = errors.New("harness: no acknowledgement within 20s")
				return
			}
			last = total
			stall.Reset(20 * time.Second)
		}
	}
}

func closedLoop(ctx context.Context, srv *server, clients []*client, frame func(id uint64, b []byte) []byte, bins [][]byte, warmup, dur time.Duration, rounds int) ([]*loopResult, error) {
	var phase atomic.Int32 // -1 warm-up, r measuring round r, rounds: stop
	phase.Store(-1)
	ws := make([]loopWorker, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		ws[i].n = make([]int64, rounds)
		ws[i].lat = make([][]time.Duration, rounds)
		wg.Add(1)
		if c.rd != nil {
			// A websocket client read by the reactor: the reactor sends the
			// next request as it reads an acknowledgement, without waking a
			// goroutine per request (work of the load generator, not of the
			// server).
			w := &ws[i]
			go reactorLoopClient(ctx, c, w, frame, bins, &phase, rounds, wg.Done)
			continue
		}
		go func() {
			defer wg.Done()
			w := &ws[i]
			var buf []byte
			// One timer per worker, reset for each request: time.After would
			// make a timer per acknowledgement, work of the load generator.
			stall := time.NewTimer(20 * time.Second)
			defer stall.Stop()
			for id := uint64(0); int(phase.Load()) < rounds; id++ {
				buf = frame(id, buf[:0])
				t0 := time.Now()
				if err := c.send(ctx, buf, bins...); err != nil {
					w.err = err
					return
				}
				stall.Reset(20 * time.Second)
				select {
				case <-c.acks:
				case <-c.done:
					w.err = errors.New("harness: connection closed by the server")
					return
				case <-stall.C:
					w.err = errors.New("harness: no acknowledgement within 20s")
					return
				}
				if p := int(phase.Load()); p >= 0 && p < rounds {
					w.n[p]++
					w.lat[p] = append(w.lat[p], time.Since(t0))
				}
			}
		}()
	}
	sleepCtx(ctx, warmup)
	wins := make([]*window, rounds)
	for r := range rounds {
		wins[r] = startWindow(srv)
		phase.Store(int32(r))
		sleepCtx(ctx, dur)
		wins[r].end()
	}
	phase.Store(int32(rounds))
	wg.Wait()
	out := make([]*loopResult, rounds)
	for r := range rounds {
		out[r] = &loopResult{win: wins[r]}
	}
	for _, w := range ws {
		if w.err != nil {
			return nil, w.err
		}
		for r := range rounds {
			out[r].acks += w.n[r]
			out[r].lat = append(out[r].lat, w.lat[r]...)
		}
	}
	return out, ctx.Err()
}

// medians combines the results of several rounds of one measurement (the
// same figures in the same order) into their medians.
func medians(rounds [][]Result) []Result {
	if len(rounds) == 0 {
		return nil
	}
	out := make([]Result, len(rounds[0]))
	for i := range out {
		vals := make([]float64, 0, len(rounds))
		lgs := make([]float64, 0, len(rounds))
		for _, rs := range rounds {
			vals = append(vals, rs[i].Value)
			lgs = append(lgs, rs[i].LoadgenCPU)
		}
		slices.Sort(vals)
		slices.Sort(lgs)
		out[i] = rounds[0][i]
		out[i].Value = vals[len(vals)/2]
		out[i].LoadgenCPU = lgs[len(lgs)/2]
		out[i].LowerBound = out[i].LoadgenCPU >= saturated
		out[i].ServerCoreOther = medianOf(rounds, i, func(r Result) float64 { return r.ServerCoreOther })
		out[i].LoadCoreOther = medianOf(rounds, i, func(r Result) float64 { return r.LoadCoreOther })
	}
	return out
}

func medianOf(rounds [][]Result, i int, f func(Result) float64) float64 {
	v := make([]float64, len(rounds))
	for j, rs := range rounds {
		v[j] = f(rs[i])
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
