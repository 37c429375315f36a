package testutil

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServer is a redis-server process started by StartRedis on a loopback port.
// It is stopped at the end of the test.
type RedisServer struct {
	t    testing.TB
	Port int
	args []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Addr returns "127.0.0.1:port".
func (r *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.Port) }

// URL returns "redis://127.0.0.1:port".
func (r *RedisServer) URL() string { return "redis://" + r.Addr() }

func redisBinary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH (apt-get install redis-server): %v", err)
	}
	return p
}

// StartRedis starts a standalone redis-server (no persistence) on a free loopback
// port and waits until it answers PING.
func StartRedis(t testing.TB) *RedisServer {
	t.Helper()
	port := freeRedisPort(t, false)
	r := &RedisServer{t: t, Port: port, args: []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
	}}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the process on the same port and waits until it answers PING.
func (r *RedisServer) Start() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return
	}
	cmd := exec.Command(redisBinary(r.t), r.args...)
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	if err := waitRedisPing(r.Addr(), 10*time.Second, done); err != nil {
		r.t.Fatalf("redis-server on %s: %v", r.Addr(), err)
	}
}

// Stop kills the process and waits for it to exit. Idempotent.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd, r.done = nil, nil
}

// Command sends one command to the server and returns its reply in redis-cli's
// raw form (one line per element).
func (r *RedisServer) Command(args ...string) (string, error) {
	return RedisCommand(r.Addr(), args...)
}

// RedisCommand runs redis-cli against addr and returns its raw output.
func RedisCommand(addr string, args ...string) (string, error) {
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("redis-cli", append([]string{"-h", host, "-p", port, "--raw"}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// waitRedisPing polls addr with a raw PING until it answers PONG.
func waitRedisPing(addr string, d time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(d)
	for {
		select {
		case <-exited:
			return fmt.Errorf("process exited")
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			line := ""
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeRedisPort picks a loopback port that is free; with bus set, port+10000 (the
// cluster bus) must be free as well.
func freeRedisPort(t testing.TB, bus bool) int {
	t.Helper()
	if !bus {
		return FreePort(t)
	}
	for range 200 {
		p := 20000 + rand.IntN(20000)
		if portFree(p) && portFree(p+10000) {
			return p
		}
	}
	t.Fatal("testutil: no free port pair for a redis cluster node")
	return 0
}

func portFree(p int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// RedisCluster is a Redis Cluster of masters without replicas on loopback ports,
// started by StartRedisCluster and stopped at the end of the test.
type RedisCluster struct {
	Nodes []*RedisServer
}

// Addrs returns the "127.0.0.1:port" of every master.
func (c *RedisCluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartRedisCluster starts n (at least 3) cluster-enabled redis-server masters,
// joins them with `redis-cli --cluster create` and waits until every node reports
// cluster_state:ok.
func StartRedisCluster(t testing.TB, n int) *RedisCluster {
	t.Helper()
	if n < 3 {
		n = 3
	}
	dir := t.TempDir()
	c := &RedisCluster{}
	for i := 0; i < n; i++ {
		port := freeRedisPort(t, true)
		r := &RedisServer{t: t, Port: port, args: []string{
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
			"--cluster-enabled", "yes", "--cluster-node-timeout", "5000",
			"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"),
			"--dir", dir,
		}}
		r.Start()
		t.Cleanup(r.Stop)
		c.Nodes = append(c.Nodes, r)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, node := range c.Nodes {
		for {
			out, _ := node.Command("CLUSTER", "INFO")
			if strings.Contains(out, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s not ok:\n%s", node.Addr(), out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// LaunchRedis starts a standalone redis-server (no persistence) on a free
// loopback port outside any test, for runnable Examples: TestMain starts it,
// the Examples read its URL, and stop kills it at the end.
func LaunchRedis() (url string, stop func(), err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server is not on PATH (apt-get install redis-server): %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() { cmd.Process.Kill(); <-done }
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitRedisPing(addr, 10*time.Second, done); err != nil {
		stop()
		return "", nil, fmt.Errorf("redis-server on %s: %w", addr, err)
	}
	return "redis://" + addr, stop, nil
}
