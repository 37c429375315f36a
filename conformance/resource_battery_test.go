package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/corvid-io/corvid/internal/testutil"
)

// The resource battery (issue 15): each attack runs for a bounded time
// against our server (conformance/cmd/battery-server, a process of its own)
// and against npm socket.io 4.8 (conformance/node/battery_server.js), each
// attack on fresh servers. It reads each server's RSS from /proc before the
// attack, at its peak (sampled every 20 ms) and some seconds after the
// attackers left; for ours also the live heap and goroutines
// (battery-server -debug). A row passes when our peak growth is at most
// Node's (plus a 4 MiB noise floor), or at most its stated cap where Node has
// no counterpart, and our heap and goroutines are back near their baseline
// afterwards. CORVID_LONG=1 runs the long version (the sizes, 10 s
// after).
//
//	go test -count=1 -run TestResourceBattery -v ./conformance/

// batteryOpts are the sizes of one run.
type batteryOpts struct {
	root  string // repository root
	nm    string // conformance/node_modules
	long  bool
	after time.Duration // wait after the attackers left
	scale func(short, long int) int
}

// batteryServer is one server under attack.
type batteryServer struct {
	kind  string // "corvid" or "node"
	addr  string // 127.0.0.1:port
	cmd   *exec.Cmd
	done  chan struct{}
	logs  atomic.Int64 // stderr bytes (ours: the log)
	lines chan string  // stdout lines
}

func (s *batteryServer) base() string { return "http://" + s.addr + "/socket.io/" }

func (s *batteryServer) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// fds returns the number of the process's open file descriptors.
func (s *batteryServer) fds() int64 {
	d, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	return int64(len(d))
}

// cpu returns the process's user+system CPU time.
func (s *batteryServer) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ
}

// stats returns our server's live heap and goroutines (0, 0 for Node).
func (s *batteryServer) stats() (heap, goroutines int64) {
	if s.kind != "corvid" {
		return 0, 0
	}
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://" + s.addr + "/debug/stats")
	if err != nil {
		return -1, -1
	}
	defer res.Body.Close()
	var st struct{ Heap, Goroutines int64 }
	if json.NewDecoder(res.Body).Decode(&st) != nil {
		return -1, -1
	}
	c.CloseIdleConnections()
	return st.Heap, st.Goroutines
}

type countWriter struct{ n *atomic.Int64 }

func (w countWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }

var batteryBin struct {
	once sync.Once
	path string
	err  error
}

// startBattery starts a server of kind on a free port; it is killed at the
// end of the test. It may run on any goroutine.
func startBattery(t *testing.T, kind string, o *batteryOpts) (*batteryServer, error) {
	s := &batteryServer{kind: kind, done: make(chan struct{}), lines: make(chan string, 16)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.addr = "127.0.0.1:" + strconv.Itoa(port)
	root := o.root
	if kind == "corvid" {
		batteryBin.once.Do(func() {
			dir, err := os.MkdirTemp("", "corvid-battery")
			if err != nil {
				batteryBin.err = err
				return
			}
			batteryBin.path = filepath.Join(dir, "battery-server")
			build := exec.Command("go", "build", "-o", batteryBin.path, "./conformance/cmd/battery-server")
			build.Dir = root
			out, err := build.CombinedOutput()
			if err != nil {
				batteryBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			}
		})
		if batteryBin.err != nil {
			return nil, batteryBin.err
		}
		s.cmd = exec.Command(batteryBin.path, "-addr", s.addr, "-debug", "-ping", "500ms")
	} else {
		s.cmd = exec.Command("node", filepath.Join(root, "conformance/node/battery_server.js"), strconv.Itoa(port), "500")
		s.cmd.Env = append(os.Environ(), "NODE_PATH="+o.nm)
	}
	s.cmd.Dir = root
	s.cmd.Stderr = countWriter{&s.logs}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-s.lines:
			if strings.HasPrefix(l, "listening") {
				return s, nil
			}
		case <-s.done:
			return nil, fmt.Errorf("%s server exited before listening", kind)
		case <-deadline:
			return nil, fmt.Errorf("%s server not listening after 20 s", kind)
		}
	}
}

// batteryAttack is one attack of the battery.
type batteryAttack struct {
	name   string
	engine bool // an engine attack (fails until the engine's limits are merged)
	ours   bool // only against our server (no counterpart in the reference)
	cpu    bool // our CPU time must also stay within twice Node's plus 0.5 s
	// probes: well-behaved clients run beside the attack (probeClients); the
	// p99 of their latency must stay within batteryP99Slack of Node's.
	probes bool
	// perConn: when our RSS growth is over Node's, the row still passes if
	// it is at most perConn per connection open at the peak (the most file
	// descriptors open at once over the baseline): the stated cap of a
	// connection that has sent a whole request (see batteryPerConn).
	perConn int64
	// keeps: what the attack creates stays by design, in the reference too
	// (dynamic namespaces): the heap is not expected back at its baseline.
	keeps bool
	cap   int64 // with ours: the bound on our RSS growth
	// run attacks s and returns when the attackers have left, with a note.
	run func(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string
}

// batteryResult is one side of a row.
type batteryResult struct {
	rss0, peak, rss1 int64
	heap0, heap1     int64
	gr0, gr1         int64
	cpu              time.Duration
	logs             int64
	held             int   // connections still open at the end of the attack
	conns            int64 // with perConn: the most descriptors open at once, over the baseline
	// p99: with probes, the latency p99 of the well-behaved clients that
	// ran beside the attack (0 when none ran).
	p99  time.Duration
	note string
}

func (r *batteryResult) growth() int64 { return max(0, r.peak-r.rss0) }

// measure starts a fresh server of kind, runs a against it and measures. It
// may run on any goroutine: it reports a failure with t.Error and returns nil.
func measure(t *testing.T, kind string, a *batteryAttack, o *batteryOpts) *batteryResult {
	s, err := startBattery(t, kind, o)
	if err != nil {
		t.Error(err)
		return nil
	}
	// Warm up: one Socket.IO connection, so that the baseline has the code
	// paths of a session loaded.
	if c, err := batteryWS(s, "/"); err == nil {
		c.CloseNow()
	}
	time.Sleep(300 * time.Millisecond)
	r := &batteryResult{}
	r.heap0, r.gr0 = s.stats()
	r.rss0 = s.rss()
	cpu0 := s.cpu()
	logs0 := s.logs.Load()
	var peak, fds atomic.Int64
	peak.Store(r.rss0)
	fd0 := s.fds()
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			if v := s.rss(); v > peak.Load() {
				peak.Store(v)
			}
			if a.perConn > 0 {
				if v := s.fds() - fd0; v > fds.Load() {
					fds.Store(v)
				}
			}
			select {
			case <-stop:
				return
			case <-tk.C:
			}
		}
	}()
	r.note = a.run(t, s, o, r)
	time.Sleep(o.after)
	close(stop)
	<-sampled
	r.peak = peak.Load()
	r.conns = fds.Load()
	if a.perConn > 0 && r.conns > 0 {
		r.note += fmt.Sprintf("; %d connections at the peak, %.1f KiB each", r.conns, float64(r.growth())/float64(r.conns)/1024)
	}
	r.rss1 = s.rss()
	r.heap1, r.gr1 = s.stats()
	r.cpu = s.cpu() - cpu0
	r.logs = s.logs.Load() - logs0
	return r
}

func TestResourceBattery(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is required")
	}
	o := &batteryOpts{root: testutil.RepoRoot(t), nm: testutil.NodeModules(t), long: relLong(), after: 2 * time.Second}
	o.scale = func(short, long int) int {
		if o.long {
			return long
		}
		return short
	}
	if o.long {
		o.after = 10 * time.Second
	}
	attacks := batteryAttacks()
	type row struct {
		a         *batteryAttack
		us, ref   *batteryResult
		pass      bool
		why       string
		started   bool
		completed bool
	}
	rows := make([]*row, len(attacks))
	sem := make(chan struct{}, 4) // attacks at once, each on its own servers
	t.Run("attacks", func(t *testing.T) {
		for i, a := range attacks {
			rows[i] = &row{a: a}
			r := rows[i]
			t.Run(strings.ReplaceAll(a.name, " ", "_"), func(t *testing.T) {
				t.Parallel()
				r.started = true
				sem <- struct{}{}
				defer func() { <-sem }()
				// Both servers at once (separate processes, each measured alone).
				var wg sync.WaitGroup
				if !a.ours {
					wg.Add(1)
					go func() {
						defer wg.Done()
						r.ref = measure(t, "node", a, o)
					}()
				}
				r.us = measure(t, "corvid", a, o)
				wg.Wait()
				if r.us == nil || (!a.ours && r.ref == nil) {
					return
				}
				r.pass, r.why = batteryJudge(a, r.us, r.ref)
				r.completed = true
				if !r.pass {
					t.Errorf("%s: %s", a.name, r.why)
				}
			})
		}
	})
	var b strings.Builder
	fmt.Fprintf(&b, "\n| Attack | Corvid RSS base → peak → after (MiB) | heap before → after (MiB) | goroutines | CPU | Node RSS base → peak → after (MiB) | Node CPU | Notes (Corvid / Node) | Result |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	m := func(v int64) string { return fmt.Sprintf("%.1f", float64(v)/(1<<20)) }
	for _, r := range rows {
		if !r.started {
			continue
		}
		if !r.completed {
			fmt.Fprintf(&b, "| %s | (did not complete) | | | | | | | FAIL |\n", r.a.name)
			continue
		}
		u := r.us
		nodeRSS, nodeCPU, nodeNote := "—", "—", "—"
		if r.ref != nil {
			nodeRSS = m(r.ref.rss0) + " → " + m(r.ref.peak) + " → " + m(r.ref.rss1)
			nodeCPU = fmt.Sprintf("%.2f s", r.ref.cpu.Seconds())
			nodeNote = r.ref.note
		}
		res := "pass"
		if !r.pass {
			res = "FAIL: " + r.why
		}
		name := r.a.name
		if r.a.engine {
			name += " (engine)"
		}
		fmt.Fprintf(&b, "| %s | %s → %s → %s | %s → %s | %d → %d | %.2f s | %s | %s | %s / %s | %s |\n",
			name, m(u.rss0), m(u.peak), m(u.rss1), m(u.heap0), m(u.heap1), u.gr0, u.gr1, u.cpu.Seconds(),
			nodeRSS, nodeCPU, u.note, nodeNote, res)
	}
	t.Log(b.String())
}

// Slack of the judgement: RSS noise, and what "back near the baseline" allows.
const (
	batteryNoise      = 4 << 20
	batteryHeapSlack  = 4 << 20
	batteryGoroutines = 10
	batteryLogCap     = 64 << 10 // log bytes an attack may cause on our side
)

// batteryPerConn is the stated cap of our memory per connection that has
// sent a whole request and is in net/http's hands: its goroutine, a 4 KiB
// bufio.Reader and a 4 KiB bufio.Writer that net/http allocates for every
// connection (neither size can be set), the request, and the garbage
// collector's headroom over them. The long polling flood measured 22.0 and
// 24.8 KiB per connection at its peak (Node: 38.5 and 44.1 KiB, once 16 KiB);
// the cap leaves room for the collector's timing.
const batteryPerConn = 32 << 10

// batteryP99Slack is how much worse than Node's the well-behaved clients'
// p99 may be during an attack with probes: ours must be at most twice Node's,
// or Node's plus 50 ms when that is larger. Both servers are attacked at once
// on a shared 2-core machine, beside other attacks, and probe p99s of a few
// thousand samples move by tens of milliseconds between runs; a stall of the
// kind the issue found (667 ms against Node's 130 ms) is well outside it.
func batteryP99Slack(node time.Duration) time.Duration {
	return max(2*node, node+50*time.Millisecond)
}

// batteryJudge applies the pass rule to a row.
func batteryJudge(a *batteryAttack, us, ref *batteryResult) (bool, string) {
	g := us.growth()
	switch {
	case ref == nil && g > a.cap:
		return false, fmt.Sprintf("RSS grew by %s, over the cap of %s", mib(uint64(g)), mib(uint64(a.cap)))
	case ref != nil && g > ref.growth()+batteryNoise && !(a.perConn > 0 && us.conns > 0 && g <= us.conns*a.perConn):
		return false, fmt.Sprintf("RSS grew by %s, Node's by %s", mib(uint64(g)), mib(uint64(ref.growth())))
	case ref != nil && a.cpu && us.cpu > 2*ref.cpu+500*time.Millisecond:
		return false, fmt.Sprintf("%.2f s of CPU, Node %.2f s", us.cpu.Seconds(), ref.cpu.Seconds())
	case ref != nil && a.probes && (us.p99 <= 0 || ref.p99 <= 0):
		return false, "the well-behaved clients measured nothing"
	case ref != nil && a.probes && us.p99 > batteryP99Slack(ref.p99):
		return false, fmt.Sprintf("other clients' p99 %d ms, Node %d ms (allowed %d ms)",
			us.p99.Milliseconds(), ref.p99.Milliseconds(), batteryP99Slack(ref.p99).Milliseconds())
	case ref != nil && us.held > ref.held:
		return false, fmt.Sprintf("%d connections still open, Node %d", us.held, ref.held)
	case us.logs > batteryLogCap:
		return false, fmt.Sprintf("%d KiB of log lines", us.logs>>10)
	case us.heap1 < 0 || !a.keeps && us.heap1 > us.heap0+batteryHeapSlack:
		return false, fmt.Sprintf("heap %s after, %s before", mib(uint64(max(0, us.heap1))), mib(uint64(us.heap0)))
	case us.gr1 < 0 || us.gr1 > us.gr0+batteryGoroutines:
		return false, fmt.Sprintf("%d goroutines after, %d before", us.gr1, us.gr0)
	}
	return true, ""
}

// Attack helpers.

// batteryWS opens a WebSocket session and connects it to namespace nsp; a
// goroutine answers the pings until the connection closes, and forwards the
// other messages to the returned channel (dropped when full).
func batteryWS(s *batteryServer, nsp string) (*batteryConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(64 << 20)
	bc := &batteryConn{Conn: c, in: make(chan string, 1024), done: make(chan struct{})}
	go bc.pump()
	if m, err := bc.next(10 * time.Second); err != nil || !strings.HasPrefix(m, "0{") {
		c.CloseNow()
		return nil, fmt.Errorf("open packet %q: %v", m, err)
	}
	conn := "40"
	if nsp != "/" {
		conn = "40" + nsp + ","
	}
	if err := bc.send(conn); err != nil {
		c.CloseNow()
		return nil, err
	}
	for {
		m, err := bc.next(10 * time.Second)
		if err != nil {
			c.CloseNow()
			return nil, err
		}
		if strings.HasPrefix(m, conn+"{") {
			return bc, nil
		}
	}
}

type batteryConn struct {
	*websocket.Conn
	in   chan string
	done chan struct{}
}

func (c *batteryConn) pump() {
	defer close(c.done)
	for {
		typ, b, err := c.Read(context.Background())
		if err != nil {
			return
		}
		if typ == websocket.MessageText && string(b) == "2" {
			_ = c.send("3")
			continue
		}
		select {
		case c.in <- string(b):
		default:
		}
	}
}

func (c *batteryConn) send(m string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, []byte(m))
}

func (c *batteryConn) next(d time.Duration) (string, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		return "", errors.New("closed")
	case <-time.After(d):
		return "", errors.New("timeout")
	}
}

// CloseNow closes the connection and waits for its reader.
func (c *batteryConn) CloseNow() {
	_ = c.Conn.CloseNow()
	<-c.done
}

// ack waits for the acknowledgement 43<id>.
func (c *batteryConn) ack(id int, d time.Duration) (string, error) {
	prefix := "43" + strconv.Itoa(id) + "["
	deadline := time.Now().Add(d)
	for {
		m, err := c.next(time.Until(deadline))
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(m, prefix) {
			return m, nil
		}
	}
}

// rawConns runs n attackers at once (workers at a time), each with a TCP
// connection to s, and closes every connection when hold returns.
func rawConns(s *batteryServer, n, workers int, attack func(c net.Conn) error, hold func(conns []net.Conn)) (failed int) {
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var next, fails atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
				if err != nil {
					fails.Add(1)
					continue
				}
				conns[i] = c
				if attack(c) != nil {
					fails.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	live := conns[:0]
	for _, c := range conns {
		if c != nil {
			live = append(live, c)
		}
	}
	hold(live)
	for _, c := range live {
		_ = c.Close()
	}
	return int(fails.Load())
}

// closedCount counts the connections the server has closed.
func closedCount(conns []net.Conn) int {
	n := 0
	buf := make([]byte, 4096)
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue
			}
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) {
				n++
			}
			break
		}
	}
	return n
}

// holdFor keeps the connections for d.
func holdFor(d time.Duration) func([]net.Conn) { return func([]net.Conn) { time.Sleep(d) } }

// readStatus reads an HTTP response's status code from c (0 when none).
func readStatus(c net.Conn, d time.Duration) int {
	_ = c.SetReadDeadline(time.Now().Add(d))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// pollHandshake opens a polling session over c (keep-alive) and returns its id.
func pollHandshake(c net.Conn, br *bufio.Reader) (string, error) {
	if _, err := io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var open struct{ Sid string }
	if len(b) < 2 || json.Unmarshal(b[1:], &open) != nil || open.Sid == "" {
		return "", fmt.Errorf("handshake: %d %q", res.StatusCode, b)
	}
	return open.Sid, nil
}

// statusSet counts answers by status, for a note.
type statusSet struct {
	mu sync.Mutex
	m  map[int]int
}

func (s *statusSet) add(code int) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[int]int)
	}
	s.m[code]++
	s.mu.Unlock()
}

func (s *statusSet) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.m)
}

func batteryAttacks() []*batteryAttack {
	return []*batteryAttack{
		{name: "rooms: join 140,000, leave 70,000 in one event", cpu: true, probes: true, run: attackRooms},
		{name: "idle keep-alive connections", run: attackIdleKeepAlive},
		{name: "slowloris headers", run: attackSlowloris},
		{name: "repeated authenticate (helper, 2 MB)", ours: true, cap: 16 << 20, run: attackAuthenticate},
		{name: "WebSocket frame headers claiming 1 MB", engine: true, run: attackWSFrameHeaders},
		{name: "paused polling, 1 MB POSTs of empty messages", engine: true, run: attackPausedPolling},
		{name: "handshakes with 1 MB headers", engine: true, run: attackBigHeaders},
		{name: "POSTs declaring 64 KiB then silent", engine: true, run: attackSilentPosts},
		{name: "half-open handshakes", run: attackHalfOpen},
		{name: "held attachments", run: attackHeldAttachments},
		{name: "non-reading clients", run: attackNonReading},
		{name: "polling flood on one session", perConn: batteryPerConn, run: attackPollingFlood},
		{name: "namespace flood", keeps: true, run: attackNamespaceFlood},
	}
}

// attackRooms: one socket joins 140,000 rooms (1,000 per event), then leaves
// 70,000 in one event, while probeClients well-behaved clients measure their
// latency. The note is the time the leave took, acknowledged, and the
// others' latency p99.
func attackRooms(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	c, err := batteryWS(s, "/")
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.CloseNow()
	pr, err := startProbes(s, probeClients)
	if err != nil {
		return "probes: " + err.Error()
	}
	note := roomsAttack(c)
	var n int
	r.p99, n = pr.stop()
	return fmt.Sprintf("%s; others' p99 %.1f ms (%d acks)", note, float64(r.p99.Microseconds())/1000, n)
}

// roomsAttack is the attacker of attackRooms.
func roomsAttack(c *batteryConn) string {
	const total, batch = 140000, 1000
	id := 0
	room := func(i int) string { return "room-" + strconv.Itoa(i) }
	for i := 0; i < total; i += batch {
		rooms := make([]string, batch)
		for j := range rooms {
			rooms[j] = room(i + j)
		}
		b, _ := json.Marshal([]any{"join", rooms})
		id++
		if err := c.send("42" + strconv.Itoa(id) + string(b)); err != nil {
			return "join: " + err.Error()
		}
		if _, err := c.ack(id, 30*time.Second); err != nil {
			return "join ack: " + err.Error()
		}
	}
	rooms := make([]string, total/2)
	for j := range rooms {
		rooms[j] = room(2 * j)
	}
	b, _ := json.Marshal([]any{"leave", rooms})
	id++
	start := time.Now()
	if err := c.send("42" + strconv.Itoa(id) + string(b)); err != nil {
		return "leave: " + err.Error()
	}
	if _, err := c.ack(id, 60*time.Second); err != nil {
		return "leave ack: " + err.Error()
	}
	return fmt.Sprintf("leave acked in %d ms", time.Since(start).Milliseconds())
}

// The well-behaved clients of an attack with probes: each sends a "probe"
// event (the server joins and leaves a room and acknowledges) every
// probeEvery, without waiting for the previous acknowledgement, so that a
// stall of the server counts for every probe it delays (a closed loop would
// count it once).
const (
	probeClients = 10
	probeEvery   = 10 * time.Millisecond
)

type probes struct {
	conns []*batteryConn
	quit  chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	lat   []time.Duration
	sent  []map[int]time.Time // per client: probe id -> when it was sent
}

// startProbes connects n clients to "/" and starts their probes.
func startProbes(s *batteryServer, n int) (*probes, error) {
	p := &probes{quit: make(chan struct{})}
	for range n {
		c, err := batteryWS(s, "/")
		if err != nil {
			for _, c := range p.conns {
				c.CloseNow()
			}
			return nil, err
		}
		p.conns = append(p.conns, c)
		p.sent = append(p.sent, make(map[int]time.Time))
	}
	for i, c := range p.conns {
		sent := p.sent[i]
		p.wg.Add(2)
		go func() { // sender
			defer p.wg.Done()
			tk := time.NewTicker(probeEvery)
			defer tk.Stop()
			for id := 1; ; id++ {
				select {
				case <-p.quit:
					return
				case <-tk.C:
				}
				p.mu.Lock()
				sent[id] = time.Now()
				p.mu.Unlock()
				if c.send("42"+strconv.Itoa(id)+`["probe"]`) != nil {
					return
				}
			}
		}()
		go func() { // receiver of the acknowledgements
			defer p.wg.Done()
			for {
				var m string
				select {
				case m = <-c.in:
				case <-c.done:
					return
				}
				rest, ok := strings.CutPrefix(m, "43")
				if !ok {
					continue
				}
				id, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, '['))])
				if err != nil {
					continue
				}
				now := time.Now()
				p.mu.Lock()
				if at, ok := sent[id]; ok {
					p.lat = append(p.lat, now.Sub(at))
					delete(sent, id)
				}
				p.mu.Unlock()
			}
		}()
	}
	return p, nil
}

// stop ends the probes, waits up to 5 s for the acknowledgements in flight
// (one still missing then counts with its wait so far) and returns the p99
// and the number of latencies.
func (p *probes) stop() (time.Duration, int) {
	close(p.quit)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		left := 0
		for _, m := range p.sent {
			left += len(m)
		}
		p.mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range p.conns {
		c.CloseNow()
	}
	p.wg.Wait()
	now := time.Now()
	lat := p.lat
	for _, m := range p.sent {
		for _, at := range m {
			lat = append(lat, now.Sub(at))
		}
	}
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[(len(lat)*99)/100], len(lat)
}

// attackIdleKeepAlive: connections that made one request and stay idle.
func attackIdleKeepAlive(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(1000, 2000)
	var closed int
	fails := rawConns(s, n, 32, func(c net.Conn) error {
		if _, err := io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		if readStatus(c, 10*time.Second) != http.StatusOK {
			return errors.New("status")
		}
		_ = c.SetReadDeadline(time.Time{})
		return nil
	}, func(conns []net.Conn) {
		time.Sleep(6 * time.Second)
		closed = closedCount(conns)
		r.held = len(conns) - closed
	})
	return fmt.Sprintf("%d of %d closed after 6 s idle (%d failed)", closed, n, fails)
}

// attackSlowloris: requests whose headers come one line a second.
func attackSlowloris(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(500, 2000)
	window := time.Duration(o.scale(3, 65)) * time.Second
	var closed int
	fails := rawConns(s, n, 32, func(c net.Conn) error {
		_, err := io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
		return err
	}, func(conns []net.Conn) {
		end := time.Now().Add(window)
		for i := 0; time.Now().Before(end); i++ {
			for _, c := range conns {
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
				_, _ = fmt.Fprintf(c, "X-%d: y\r\n", i)
			}
			time.Sleep(time.Second)
		}
		closed = closedCount(conns)
		r.held = len(conns) - closed
	})
	return fmt.Sprintf("%d of %d closed after %v (%d failed)", closed, n, window, fails)
}

// attackAuthenticate: an authenticated helper socket sends authenticate
// again, 2 MB of it. The note is the log it caused.
func attackAuthenticate(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	c, err := batteryWS(s, "/auth")
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.CloseNow()
	pkt := `42/auth,["authenticate",{"token":"ok"}]`
	if err := c.send(pkt); err != nil {
		return err.Error()
	}
	for {
		m, err := c.next(10 * time.Second)
		if err != nil {
			return "authenticate: " + err.Error()
		}
		if strings.Contains(m, `"authenticated"`) {
			break
		}
	}
	logs0 := s.logs.Load()
	sent := 0
	for sent < 2<<20 {
		if err := c.send(pkt); err != nil {
			return err.Error()
		}
		sent += len(pkt)
	}
	time.Sleep(500 * time.Millisecond)
	return fmt.Sprintf("%d KiB of packets: %d KiB of log", sent>>10, (s.logs.Load()-logs0)>>10)
}

// wsUpgrade sends a WebSocket upgrade request on c and reads the 101 answer.
func wsUpgrade(c net.Conn) (*bufio.Reader, error) {
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key) + "\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		return nil, fmt.Errorf("upgrade: %d", res.StatusCode)
	}
	_ = c.SetReadDeadline(time.Time{})
	return br, nil
}

// wsFrameHeader returns a masked frame header of opcode claiming n bytes.
func wsFrameHeader(opcode byte, n uint64) []byte {
	h := []byte{0x80 | opcode, 0x80 | 127}
	h = binary.BigEndian.AppendUint64(h, n)
	return append(h, 1, 2, 3, 4) // mask key
}

// attackWSFrameHeaders: WebSocket connections that each send a frame header
// claiming about 1 MB (under maxHttpBufferSize), then one byte, then wait.
func attackWSFrameHeaders(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(300, 1000)
	fails := rawConns(s, n, 32, func(c net.Conn) error {
		if _, err := wsUpgrade(c); err != nil {
			return err
		}
		_, err := c.Write(append(wsFrameHeader(1, 999_999), '4'^1))
		return err
	}, holdFor(time.Duration(o.scale(2, 10))*time.Second))
	return fmt.Sprintf("%d connections (%d failed)", n, fails)
}

// pollConnect opens a polling session connected to "/" over c.
func pollConnect(c net.Conn, br *bufio.Reader) (string, error) {
	sid, err := pollHandshake(c, br)
	if err != nil {
		return "", err
	}
	if code, err := pollPost(c, br, sid, "40"); err != nil || code != http.StatusOK {
		return "", fmt.Errorf("CONNECT: %d %v", code, err)
	}
	return sid, nil
}

func pollPost(c net.Conn, br *bufio.Reader, sid, body string) (int, error) {
	req := fmt.Sprintf("POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s",
		sid, len(body), body)
	if _, err := io.WriteString(c, req); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// attackPausedPolling: polling sessions whose handlers are slow (300 "slow"
// events: the Socket.IO layer pauses the session), then POSTs of 1 MB of
// empty messages ("4" separated by 0x1e) one after the other, each opening
// with a pong so that the heartbeat keeps the session.
func attackPausedPolling(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(4, 16)
	posts := o.scale(4, 20)
	slow := strings.TrimSuffix(strings.Repeat(`42["slow"]`+"\x1e", 300), "\x1e")
	empty := "3" + strings.Repeat("\x1e4", 499_999)
	var st statusSet
	fails := rawConns(s, n, n, func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		sid, err := pollConnect(c, br)
		if err != nil {
			return err
		}
		if code, err := pollPost(c, br, sid, slow); err != nil {
			return err
		} else {
			st.add(code)
		}
		for range posts {
			code, err := pollPost(c, br, sid, empty)
			if err != nil {
				st.add(0)
				return nil
			}
			st.add(code)
		}
		return nil
	}, holdFor(0))
	return fmt.Sprintf("%d sessions × %d POSTs: statuses %v (%d failed)", n, posts, st.String(), fails)
}

// attackBigHeaders: handshakes with 1 MB of headers.
func attackBigHeaders(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(100, 100)
	big := strings.Repeat("a", 1<<20)
	var st statusSet
	fails := rawConns(s, n, 16, func(c net.Conn) error {
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			_, _ = io.WriteString(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Big: "+big+"\r\n\r\n")
		}()
		st.add(readStatus(c, 10*time.Second))
		return nil
	}, holdFor(0))
	return fmt.Sprintf("statuses %v (%d failed)", st.String(), fails)
}

// attackSilentPosts: polling sessions, each with a POST declaring
// Content-Length 65536 and then sending nothing.
func attackSilentPosts(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(500, 1000)
	fails := rawConns(s, n, 32, func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		sid, err := pollHandshake(c, bufio.NewReader(c))
		if err != nil {
			return err
		}
		_ = c.SetDeadline(time.Time{})
		_, err = fmt.Fprintf(c, "POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 65536\r\n\r\n", sid)
		return err
	}, holdFor(time.Duration(o.scale(2, 10))*time.Second))
	return fmt.Sprintf("%d POSTs (%d failed)", n, fails)
}

// attackHalfOpen: polling handshakes never followed by a request.
func attackHalfOpen(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(2000, 20000)
	var st statusSet
	fails := rawConns(s, 16, 16, func(c net.Conn) error {
		br := bufio.NewReader(c)
		for range n / 16 {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := pollHandshake(c, br); err != nil {
				st.add(0)
				return err
			}
			st.add(200)
		}
		return nil
	}, holdFor(0))
	return fmt.Sprintf("handshakes %v (%d failed)", st.String(), fails)
}

// attackHeldAttachments: binary events that announce two attachments and
// send one of 256 KiB.
func attackHeldAttachments(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(100, 400)
	att := make([]byte, 256<<10)
	var held atomic.Int64
	var conns []*batteryConn
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := batteryWS(s, "/")
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if c.send(`452-["bin",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`) != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if c.Write(ctx, websocket.MessageBinary, att) == nil {
				held.Add(1)
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Duration(o.scale(2, 10)) * time.Second)
	for _, c := range conns {
		c.CloseNow()
	}
	return fmt.Sprintf("%d of %d sockets holding 256 KiB", held.Load(), n)
}

// attackNonReading: clients that ask for 8 MB of events and read nothing.
func attackNonReading(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(8, 20)
	var conns []*websocket.Conn
	fails := 0
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := nonReader(ctx, s)
		cancel()
		if err != nil {
			fails++
			continue
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Duration(o.scale(3, 10)) * time.Second)
	for _, c := range conns {
		_ = c.CloseNow()
	}
	return fmt.Sprintf("%d clients (%d failed)", n, fails)
}

// nonReader connects to "/", asks for 500 events of 16 KiB and returns
// without reading any further.
func nonReader(ctx context.Context, s *batteryServer) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/socket.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		return nil, err
	}
	for _, step := range []struct{ send, want string }{{"", "0{"}, {"40", "40{"}} {
		if step.send != "" && c.Write(ctx, websocket.MessageText, []byte(step.send)) != nil {
			c.CloseNow()
			return nil, errors.New("write")
		}
		if _, m, err := c.Read(ctx); err != nil || !strings.HasPrefix(string(m), step.want) {
			c.CloseNow()
			return nil, fmt.Errorf("read %q: %v", m, err)
		}
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`42["flood",500,16384]`)); err != nil {
		c.CloseNow()
		return nil, err
	}
	return c, nil
}

// attackPollingFlood: overlapping GETs and POSTs on one polling session,
// repeated for the window.
func attackPollingFlood(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(64, 500)
	var st statusSet
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		return err.Error()
	}
	sid, err := pollConnect(c, bufio.NewReader(c))
	c.Close()
	if err != nil {
		return err.Error()
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	end := time.Now().Add(time.Duration(o.scale(2, 10)) * time.Second)
	q := s.base() + "?EIO=4&transport=polling&sid=" + sid
	for time.Now().Before(end) {
		var wg sync.WaitGroup
		for i := range 2 * n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				method, body := http.MethodGet, ""
				if i%2 == 1 {
					method, body = http.MethodPost, `42["x"]`
				}
				req, _ := http.NewRequest(method, q, strings.NewReader(body))
				res, err := client.Do(req)
				if err != nil {
					st.add(0)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				st.add(res.StatusCode)
			}()
		}
		wg.Wait()
	}
	return fmt.Sprintf("statuses %v", st.String())
}

// attackNamespaceFlood: one connection joins thousands of dynamic namespaces.
func attackNamespaceFlood(t *testing.T, s *batteryServer, o *batteryOpts, r *batteryResult) string {
	n := o.scale(2000, 20000)
	c, err := batteryWS(s, "/")
	if err != nil {
		return "connect: " + err.Error()
	}
	defer c.CloseNow()
	ok := 0
	for i := range n {
		nsp := "/dyn-" + strconv.Itoa(i)
		if c.send("40"+nsp+",") != nil {
			break
		}
		m, err := c.next(10 * time.Second)
		if err != nil {
			break
		}
		if strings.HasPrefix(m, "40"+nsp+",") {
			ok++
		}
	}
	return fmt.Sprintf("%d of %d namespaces joined", ok, n)
}

// TestBatteryJudge checks the pass rule's cases that a run cannot be made to
// fail on demand: the per-connection cap and the probes' p99.
func TestBatteryJudge(t *testing.T) {
	base := func(growth int64) *batteryResult { return &batteryResult{rss0: 10 << 20, peak: 10<<20 + growth} }
	flood := &batteryAttack{perConn: batteryPerConn}
	for _, tc := range []struct {
		us, node, conns int64
		pass            bool
	}{
		{24 << 20, 16 << 20, 1000, true}, // over Node's, within 32 KiB a connection
		{24 << 20, 16 << 20, 500, false}, // 48 KiB a connection
		{24 << 20, 16 << 20, 0, false},   // no connection counted: Node's rule
		{18 << 20, 16 << 20, 0, true},    // within Node's plus the noise
		{24 << 20, 30 << 20, 10, true},   // under Node's
	} {
		us := base(tc.us)
		us.conns = tc.conns
		if ok, why := batteryJudge(flood, us, base(tc.node)); ok != tc.pass {
			t.Errorf("growth %d MiB, Node %d MiB, %d connections: pass %v (%s)", tc.us>>20, tc.node>>20, tc.conns, ok, why)
		}
	}
	rooms := &batteryAttack{probes: true}
	for _, tc := range []struct {
		us, node time.Duration
		pass     bool
	}{
		{40 * time.Millisecond, 160 * time.Millisecond, true},
		{90 * time.Millisecond, 40 * time.Millisecond, true}, // within Node's + 50 ms
		{100 * time.Millisecond, 40 * time.Millisecond, false},
		{600 * time.Millisecond, 300 * time.Millisecond, true}, // twice Node's
		{700 * time.Millisecond, 300 * time.Millisecond, false},
		{0, 300 * time.Millisecond, false}, // nothing measured
	} {
		us, ref := base(0), base(0)
		us.p99, ref.p99 = tc.us, tc.node
		if ok, why := batteryJudge(rooms, us, ref); ok != tc.pass {
			t.Errorf("p99 %v, Node %v: pass %v (%s)", tc.us, tc.node, ok, why)
		}
	}
}
