package harness

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Result is one figure of one server in one scenario.
type Result struct {
	Scenario string  `json:"scenario"`
	Server   string  `json:"server"`
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// LoadgenCPU is the load generator's CPU over the same stretch, in percent
	// of one core.
	LoadgenCPU float64 `json:"loadgen_cpu_pct"`
	// LowerBound is set when the load generator saturated its core: the
	// server may be faster than the figure says.
	LowerBound bool `json:"lower_bound"`
	// ServerCoreOther and LoadCoreOther are the shares of the server's and of
	// the load generator's CPU that other processes (and steal time) took, in
	// percent, when each is pinned to one CPU; -1 when unknown.
	ServerCoreOther float64 `json:"server_core_other_pct"`
	LoadCoreOther   float64 `json:"loadgen_core_other_pct"`
}

// saturated is the load generator's CPU above which a figure is a lower bound.
const saturated = 90

type scenario struct {
	name    string
	desc    func(z *Sizes) string
	servers []string
	run     func(ctx context.Context, r *runner, srv string) ([]Result, error)
}

var all3 = []string{Corvid, Node, Ceiling}

func scenarios() []scenario {
	return []scenario{
		{"idle", func(z *Sizes) string {
			return fmt.Sprintf("Idle websocket connections: connect N clients (%d dials in flight), wait %s, then read the server's RSS. "+
				"Figures: RSS growth per connection, total RSS, connections per second while connecting, server CPU while connecting.", z.ConnectConcurrency, z.Settle)
		}, all3, runIdle},
		{"echo", func(z *Sizes) string {
			return fmt.Sprintf("Echo with acks: %s websocket clients, each in a closed loop emitting \"echo\" with a 100-byte string and waiting for the acknowledgement. "+
				"Figures: acknowledgements per second, round-trip p50/p99, server CPU.", group(itoa(z.EchoClients)))
		}, all3, runEcho},
		{"fanout-rate", func(z *Sizes) string {
			return fmt.Sprintf("Fanout at a fixed rate: %s websocket clients; a controller connection emits \"bcast\" %d times a second and the server emits the 100-byte payload to every socket. "+
				"Figures: deliveries per second, delivery latency p50/p99 (from the controller's send to each receiver's read), server CPU.", group(itoa(z.FanoutClients)), z.FanoutRate)
		}, all3, runFanoutRate},
		{"fanout-max", func(z *Sizes) string {
			return fmt.Sprintf("Fanout as fast as it goes: %s websocket clients; the controller keeps %d broadcasts in flight (counted at the receivers). "+
				"Figures: deliveries per second, latency p50/p99 (which include the wait behind the broadcasts in flight), server CPU.", group(itoa(z.FanoutClients)), z.FanoutWindow)
		}, all3, runFanoutMax},
		{"rooms", func(z *Sizes) string {
			return fmt.Sprintf("Rooms: %s websocket clients in %s rooms of %d (joined at connection, from the handshake query); the controller emits \"toroom\" round-robin over the rooms, with %d room emits in flight. "+
				"Figures: deliveries per second, latency p50/p99, server CPU.", group(itoa(z.RoomsClients)), group(itoa(z.Rooms)), z.RoomsClients/max(z.Rooms, 1), z.RoomsWindow)
		}, all3, runRooms},
		{"polling-echo", func(z *Sizes) string {
			return fmt.Sprintf("Polling-only clients, echo: %d HTTP long-polling clients, each in a closed loop of emit with ack. "+
				"Figures: acknowledgements per second, p50/p99, server CPU. The ceiling speaks websocket only.", z.PollEchoClients)
		}, []string{Corvid, Node}, runPollEcho},
		{"polling-fanout", func(z *Sizes) string {
			return fmt.Sprintf("Polling-only clients, fanout: %d HTTP long-polling clients receive broadcasts as fast as it goes (%d in flight). "+
				"Figures: deliveries per second, p50/p99, server CPU.", z.PollFanoutClients, z.FanoutWindow)
		}, []string{Corvid, Node}, runPollFanout},
		{"binary", func(z *Sizes) string {
			return fmt.Sprintf("Binary payloads: %d websocket clients, each in a closed loop emitting \"echo\" with a %d KiB binary attachment and waiting for the acknowledgement that carries it back. "+
				"Figures: acknowledgements per second, MiB/s each way, p50/p99, server CPU.", z.BinaryClients, z.BinarySize>>10)
		}, all3, runBinary},
		{"redis", func(z *Sizes) string {
			return fmt.Sprintf("Two nodes on Redis: two server processes share one redis-server (started by the harness on a free loopback port, pinned with the servers) through their Redis adapter (ours: adapter/redis, classic mode; Node: @socket.io/redis-adapter 8.3 with redis 4); %s websocket clients alternate between the nodes; a controller on node A broadcasts as fast as it goes (%d in flight). "+
				"Figures: deliveries per second, latency p50/p99 over all receivers and p99 over the receivers of node B (cross-node), CPU of both nodes together.", group(itoa(z.RedisClients)), z.FanoutWindow)
		}, []string{Corvid, Node}, runRedis},
	}
}

// ScenarioNames lists the scenarios in the order they run.
func ScenarioNames() []string {
	var n []string
	for _, s := range scenarios() {
		n = append(n, s.name)
	}
	return n
}

// results builds the Results of one measured stretch.
type results struct {
	scenario, server string
	win              *window
	out              []Result
}

func (rs *results) add(metric, unit string, v float64) {
	w := rs.win
	rs.out = append(rs.out, Result{Scenario: rs.scenario, Server: rs.server, Metric: metric, Unit: unit, Value: v,
		LoadgenCPU: w.lgPct, LowerBound: w.lgPct >= saturated, ServerCoreOther: w.srvOther, LoadCoreOther: w.lgOther})
}

// perCPU adds n divided by the server's CPU time over the stretch: what one
// core of the server does, whatever the load generator managed to ask (0 when
// the server's CPU time was below the clock's resolution).
func (rs *results) perCPU(metric string, n float64) {
	cpu := rs.win.srvPct / 100 * rs.win.wall.Seconds()
	v := 0.0
	if cpu > 0 {
		v = n / cpu
	}
	rs.add(metric, "1/s", v)
}

func checkAlive(s *server) error {
	if !s.alive() {
		return fmt.Errorf("harness: %s server exited: %s", s.name, s.procs[0].tail.String())
	}
	return nil
}

func runIdle(ctx context.Context, r *runner, srv string) ([]Result, error) {
	var out []Result
	for _, n := range r.sz.Idle {
		s, err := r.env.start(ctx, srv, 1, "")
		if err != nil {
			return nil, err
		}
		res, err := func() ([]Result, error) {
			defer s.stop()
			sleepCtx(ctx, 500*time.Millisecond)
			before := s.rss()
			base := s.base(0)
			waitProf := func() {}
			if n == r.sz.Idle[len(r.sz.Idle)-1] {
				// A CPU profile of the connecting (about 3,000 connections a second).
				waitProf = r.profile(s, "idle-"+strconv.Itoa(n)+"-connect.cpu.pprof", "profile?seconds="+strconv.Itoa(max(1, n/3000)))
			}
			win := startWindow(s)
			clients, elapsed, err := connectAll(ctx, n, r.sz.ConnectConcurrency, func(int) dialOptions {
				return dialOptions{base: base}
			})
			win.end()
			waitProf()
			if err != nil {
				return nil, err
			}
			defer closeAll(clients)
			sleepCtx(ctx, r.sz.Settle)
			if n == r.sz.Idle[len(r.sz.Idle)-1] {
				name := "idle-" + strconv.Itoa(n)
				r.profile(s, name+".heap.pprof", "heap?gc=1")()
				r.profile(s, name+".memstats.txt", "heap?debug=1")()
				r.profile(s, name+".goroutines.txt", "goroutine?debug=1")()
			}
			after := s.rss()
			if err := checkAlive(s); err != nil {
				return nil, err
			}
			rs := &results{scenario: "idle-" + strconv.Itoa(n), server: srv, win: win}
			rs.add("RSS per conn", "KiB", float64(after-before)/float64(n)/1024)
			rs.add("RSS total", "MiB", float64(after)/(1<<20))
			rs.add("conns/s connecting", "1/s", float64(n)/elapsed.Seconds())
			rs.add("server CPU connecting", "%", win.srvPct)
			return rs.out, nil
		}()
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// withClients starts a server and n receivers (and, with ctrl, a controller
// connection that is not a receiver of room emits), runs fn, and tears down.
type setup struct {
	s       *server
	clients []*client
	ctrl    *client
	flow    *flow
}

func (r *runner) setup(ctx context.Context, srv string, nodes int, redisAddr string, n int, polling bool, query func(i int) string, fn func(st *setup) ([]Result, error)) ([]Result, error) {
	s, err := r.env.start(ctx, srv, nodes, redisAddr)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	st := &setup{s: s, flow: newFlow(n + 1)}
	clients, _, err := connectAll(ctx, n, r.sz.ConnectConcurrency, func(i int) dialOptions {
		q := ""
		if query != nil {
			q = query(i)
		}
		return dialOptions{base: s.base(i), query: q, polling: polling, onEvent: st.flow.receiver(i)}
	})
	if err != nil {
		return nil, err
	}
	defer closeAll(clients)
	st.clients = clients
	ctrl, err := dial(ctx, dialOptions{base: s.base(0), polling: polling, onEvent: st.flow.receiver(n)})
	if err != nil {
		return nil, err
	}
	defer ctrl.close()
	st.ctrl = ctrl
	res, err := fn(st)
	if err == nil {
		err = checkAlive(s)
	}
	return res, err
}

func echoFrame(id uint64, b []byte) []byte {
	b = append(b, "42"...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `["echo",`...)
	b = appendPayload(b)
	return append(b, ']')
}

func runEcho(ctx context.Context, r *runner, srv string) ([]Result, error) {
	return r.echo(ctx, "echo", srv, r.sz.EchoClients, false)
}

func runPollEcho(ctx context.Context, r *runner, srv string) ([]Result, error) {
	return r.echo(ctx, "polling-echo", srv, r.sz.PollEchoClients, true)
}

func (r *runner) echo(ctx context.Context, name, srv string, n int, polling bool) ([]Result, error) {
	return r.setup(ctx, srv, 1, "", n, polling, nil, func(st *setup) ([]Result, error) {
		stopProf := r.profileWindow(st.s, name)
		lrs, err := closedLoop(ctx, st.s, st.clients, echoFrame, nil, r.sz.Warmup, r.sz.Duration, r.sz.Rounds)
		stopProf()
		if err != nil {
			return nil, err
		}
		for _, c := range st.clients {
			if c.echoed.Load() == 0 {
				return nil, errors.New("harness: the acknowledgements did not carry the payload back")
			}
		}
		var rounds [][]Result
		for _, lr := range lrs {
			rs := &results{scenario: name, server: srv, win: lr.win}
			rs.add("acks/s", "1/s", float64(lr.acks)/lr.win.wall.Seconds())
			rs.perCPU("acks per server CPU-s", float64(lr.acks))
			rs.add("p50", "ms", ms(percentile(lr.lat, 50)))
			rs.add("p99", "ms", ms(percentile(lr.lat, 99)))
			rs.add("server CPU", "%", lr.win.srvPct)
			rounds = append(rounds, rs.out)
		}
		return medians(rounds), nil
	})
}

// profileWindow starts a CPU profile of our server that covers the warm-up
// and the measured stretch; the returned function waits for it.
func (r *runner) profileWindow(s *server, name string) func() {
	secs := int((r.sz.Warmup + time.Duration(r.sz.Rounds)*r.sz.Duration).Seconds())
	return r.profile(s, name+".cpu.pprof", "profile?seconds="+strconv.Itoa(max(secs, 1)))
}

func bcastFrame(_ int, b []byte) []byte {
	b = append(b, `42["bcast",`...)
	b = appendPayload(b)
	return append(b, ']')
}

// measureFlow runs send (which returns when stop closes) through a warm-up and
// a measured stretch and reports deliveries and latencies.
func (r *runner) measureFlow(ctx context.Context, st *setup, name, srv string, send func(stop <-chan struct{}) error, keepB func(i int) bool) ([]Result, error) {
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() { errc <- send(stop) }()
	stopProf := r.profileWindow(st.s, name)
	fail := func() error {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("harness: sender ended early")
			}
			return err
		default:
			return nil
		}
	}
	sleepCtx(ctx, r.sz.Warmup)
	var rounds [][]Result
	for range r.sz.Rounds {
		st.flow.takeSamples() // drop what came before the stretch
		st.flow.recording.Store(true)
		d0 := st.flow.delivered.Load()
		win := startWindow(st.s)
		sleepCtx(ctx, r.sz.Duration)
		win.end()
		d1 := st.flow.delivered.Load()
		st.flow.recording.Store(false)
		if err := fail(); err != nil {
			close(stop)
			stopProf()
			return nil, err
		}
		rs := &results{scenario: name, server: srv, win: win}
		rs.add("deliveries/s", "1/s", float64(d1-d0)/win.wall.Seconds())
		rs.perCPU("deliveries per server CPU-s", float64(d1-d0))
		per := st.flow.takeSamples()
		lat := merge(per, nil)
		rs.add("p50", "ms", ms(percentile(lat, 50)))
		rs.add("p99", "ms", ms(percentile(lat, 99)))
		if keepB != nil {
			rs.add("p99 cross-node", "ms", ms(percentile(merge(per, keepB), 99)))
		}
		rs.add("server CPU", "%", win.srvPct)
		rounds = append(rounds, rs.out)
	}
	close(stop)
	err := <-errc
	stopProf()
	if err != nil {
		return nil, err
	}
	return medians(rounds), nil
}

func runFanoutRate(ctx context.Context, r *runner, srv string) ([]Result, error) {
	return r.setup(ctx, srv, 1, "", r.sz.FanoutClients, false, nil, func(st *setup) ([]Result, error) {
		return r.measureFlow(ctx, st, "fanout-rate", srv, func(stop <-chan struct{}) error {
			return sendRate(ctx, st.ctrl, bcastFrame, r.sz.FanoutRate, stop)
		}, nil)
	})
}

func runFanoutMax(ctx context.Context, r *runner, srv string) ([]Result, error) {
	return r.fanoutMax(ctx, "fanout-max", srv, r.sz.FanoutClients, false)
}

func runPollFanout(ctx context.Context, r *runner, srv string) ([]Result, error) {
	return r.fanoutMax(ctx, "polling-fanout", srv, r.sz.PollFanoutClients, true)
}

func (r *runner) fanoutMax(ctx context.Context, name, srv string, n int, polling bool) ([]Result, error) {
	return r.setup(ctx, srv, 1, "", n, polling, nil, func(st *setup) ([]Result, error) {
		per := int64(n + 1) // the controller receives its broadcasts too
		return r.measureFlow(ctx, st, name, srv, func(stop <-chan struct{}) error {
			return st.flow.sendPaced(ctx, st.ctrl, bcastFrame, func(int) int64 { return per }, r.sz.FanoutWindow*per, stop)
		}, nil)
	})
}

func roomName(i int) string { return "r" + strconv.Itoa(i) }

func runRooms(ctx context.Context, r *runner, srv string) ([]Result, error) {
	n, rooms := r.sz.RoomsClients, r.sz.Rooms
	query := func(i int) string { return "&room=" + roomName(i%rooms) }
	// Room k holds the clients i with i%rooms == k.
	size := func(k int) int64 { return int64(n/rooms + btoi(k < n%rooms)) }
	return r.setup(ctx, srv, 1, "", n, false, query, func(st *setup) ([]Result, error) {
		frame := func(i int, b []byte) []byte {
			b = append(b, `42["toroom","`...)
			b = append(b, roomName(i%rooms)...)
			b = append(b, `",`...)
			b = appendPayload(b)
			return append(b, ']')
		}
		per := func(i int) int64 { return size(i % rooms) }
		return r.measureFlow(ctx, st, "rooms", srv, func(stop <-chan struct{}) error {
			return st.flow.sendPaced(ctx, st.ctrl, frame, per, r.sz.RoomsWindow*int64(n/rooms), stop)
		}, nil)
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func runBinary(ctx context.Context, r *runner, srv string) ([]Result, error) {
	blob := make([]byte, r.sz.BinarySize)
	for i := range blob {
		blob[i] = byte(i)
	}
	frame := func(id uint64, b []byte) []byte {
		b = append(b, "451-"...)
		b = strconv.AppendUint(b, id, 10)
		return append(b, `["echo",{"_placeholder":true,"num":0}]`...)
	}
	return r.setup(ctx, srv, 1, "", r.sz.BinaryClients, false, nil, func(st *setup) ([]Result, error) {
		stopProf := r.profileWindow(st.s, "binary")
		lrs, err := closedLoop(ctx, st.s, st.clients, frame, [][]byte{blob}, r.sz.Warmup, r.sz.Duration, r.sz.Rounds)
		stopProf()
		if err != nil {
			return nil, err
		}
		for _, c := range st.clients {
			if c.binAcks.Load() == 0 {
				return nil, errors.New("harness: the acknowledgement did not carry the attachment back as binary")
			}
		}
		var rounds [][]Result
		for _, lr := range lrs {
			rs := &results{scenario: "binary", server: srv, win: lr.win}
			rate := float64(lr.acks) / lr.win.wall.Seconds()
			rs.add("acks/s", "1/s", rate)
			rs.perCPU("acks per server CPU-s", float64(lr.acks))
			rs.add("MiB/s each way", "MiB/s", rate*float64(len(blob))/(1<<20))
			rs.add("p50", "ms", ms(percentile(lr.lat, 50)))
			rs.add("p99", "ms", ms(percentile(lr.lat, 99)))
			rs.add("server CPU", "%", lr.win.srvPct)
			rounds = append(rounds, rs.out)
		}
		return medians(rounds), nil
	})
}

func runRedis(ctx context.Context, r *runner, srv string) ([]Result, error) {
	addr, err := r.env.startRedis(ctx)
	if err != nil {
		return nil, err
	}
	n := r.sz.RedisClients
	return r.setup(ctx, srv, 2, addr, n, false, nil, func(st *setup) ([]Result, error) {
		// Both nodes must see each other's broadcasts before measuring: wait
		// until one broadcast reaches every receiver.
		if err := waitAllReceive(ctx, st, n+1); err != nil {
			return nil, err
		}
		per := int64(n + 1)
		onB := func(i int) bool { return i < n && i%2 == 1 } // client i is on node i%2
		return r.measureFlow(ctx, st, "redis", srv, func(stop <-chan struct{}) error {
			return st.flow.sendPaced(ctx, st.ctrl, bcastFrame, func(int) int64 { return per }, r.sz.FanoutWindow*per, stop)
		}, onB)
	})
}

// waitAllReceive broadcasts until one broadcast is delivered to all n
// receivers (the Redis subscriptions of both nodes are in place).
func waitAllReceive(ctx context.Context, st *setup, n int) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		d0 := st.flow.delivered.Load()
		if err := st.ctrl.send(ctx, bcastFrame(0, nil)); err != nil {
			return err
		}
		sleepCtx(ctx, 300*time.Millisecond)
		if st.flow.delivered.Load()-d0 >= int64(n) {
			return nil
		}
	}
	return errors.New("harness: broadcasts do not reach the clients of both nodes")
}
