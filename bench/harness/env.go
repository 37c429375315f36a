package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Server names, in the order of the table.
const (
	Corvid  = "corvid"
	Node    = "node"
	Ceiling = "ceiling"
)

// env is what a run needs to start servers: the built Go servers, the Node
// packages, Redis.
type env struct {
	cfg       *Config
	bin       string // directory of the built Go servers
	nodePath  string // NODE_PATH for the Node server ("" when bench/node/node_modules is used)
	redis     *proc
	redisAddr string
	nextPprof int
}

func newEnv(ctx context.Context, cfg *Config) (*env, error) {
	e := &env{cfg: cfg}
	bin, err := os.MkdirTemp("", "corvid-bench-")
	if err != nil {
		return nil, err
	}
	e.bin = bin
	benchDir := filepath.Join(cfg.Root, "bench")
	for _, name := range []string{"corvidserver", "ceilingserver"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, name), "./harness/cmd/"+name)
		cmd.Dir = benchDir
		if out, err := cmd.CombinedOutput(); err != nil {
			e.close()
			return nil, fmt.Errorf("harness: go build %s: %v\n%s", name, err, out)
		}
	}
	if cfg.NodeModules != "" {
		e.nodePath = cfg.NodeModules
	} else if err := npmCI(ctx, filepath.Join(cfg.Root, "bench", "node")); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// npmCI installs the pinned packages of bench/node unless node_modules is
// already up to date with package-lock.json.
func npmCI(ctx context.Context, dir string) error {
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return err
	}
	if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !inst.ModTime().Before(lock.ModTime()) {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("harness: npm ci in bench/node: %v\n%s", err, out)
	}
	return nil
}

func (e *env) close() {
	if e.redis != nil {
		e.redis.stop()
	}
	if e.bin != "" {
		os.RemoveAll(e.bin)
	}
}

// oneCPU returns the CPU of a one-CPU list ("1"), or -1.
func oneCPU(list string) int {
	n, err := strconv.Atoi(list)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startRedis starts redis-server on a free loopback port (once per run).
func (e *env) startRedis(ctx context.Context) (string, error) {
	if e.redis != nil {
		return e.redisAddr, nil
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := []string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	if e.cfg.Pin {
		cmd = append([]string{"taskset", "-c", e.cfg.ServerCPU}, cmd...)
	}
	c := exec.Command(cmd[0], cmd[1:]...)
	tail := &tailBuffer{}
	c.Stdout, c.Stderr = tail, tail
	if err := c.Start(); err != nil {
		return "", fmt.Errorf("harness: redis-server: %w", err)
	}
	p := &proc{name: "redis", cmd: c, done: make(chan struct{}), tail: tail}
	go func() { c.Wait(); close(p.done) }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if !p.alive() || time.Now().After(deadline) {
			p.stop()
			return "", fmt.Errorf("harness: redis-server did not start: %s", tail.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.redis, e.redisAddr = p, addr
	return addr, nil
}

// server is one running server under test (two processes for the Redis
// scenario).
type server struct {
	name         string
	coreS, coreL int // the one CPU of the servers and of the load generator; -1: not pinned to one
	procs        []*proc
	pprof        string // corvid: the pprof address when profiling
}

func (s *server) base(i int) string { return "http://" + s.procs[i%len(s.procs)].addr }

func (s *server) cpu() time.Duration {
	var d time.Duration
	for _, p := range s.procs {
		d += p.cpu()
	}
	return d
}

func (s *server) rss() int64 {
	var n int64
	for _, p := range s.procs {
		n += p.rss()
	}
	return n
}

func (s *server) alive() bool {
	for _, p := range s.procs {
		if !p.alive() {
			return false
		}
	}
	return true
}

func (s *server) stop() {
	for _, p := range s.procs {
		p.stop()
	}
}

// start runs the named server: nodes processes, on Redis when redisAddr is set.
func (e *env) start(ctx context.Context, name string, nodes int, redisAddr string) (*server, error) {
	pin := ""
	if e.cfg.Pin {
		pin = e.cfg.ServerCPU
	}
	s := &server{name: name, coreS: -1, coreL: -1}
	if e.cfg.Pin {
		s.coreS, s.coreL = oneCPU(e.cfg.ServerCPU), oneCPU(e.cfg.LoadCPU)
	}
	for range nodes {
		var argv, env []string
		dir := e.cfg.Root
		switch name {
		case Corvid:
			argv = []string{filepath.Join(e.bin, "corvidserver")}
			if redisAddr != "" {
				argv = append(argv, "-redis", "redis://"+redisAddr)
			}
			if e.cfg.ProfileDir != "" && len(s.procs) == 0 {
				port, err := freePort()
				if err != nil {
					return nil, err
				}
				s.pprof = "127.0.0.1:" + strconv.Itoa(port)
				argv = append(argv, "-pprof", s.pprof)
			}
			if e.cfg.GOGC != "" {
				env = append(env, "GOGC="+e.cfg.GOGC)
			}
		case Ceiling:
			argv = []string{filepath.Join(e.bin, "ceilingserver")}
			if e.cfg.GOGC != "" {
				env = append(env, "GOGC="+e.cfg.GOGC)
			}
		case Node:
			port, err := freePort()
			if err != nil {
				return nil, err
			}
			dir = filepath.Join(e.cfg.Root, "bench", "node")
			argv = []string{"node", "server.js", strconv.Itoa(port)}
			if redisAddr != "" {
				argv = append(argv, "redis://"+redisAddr)
			}
			if e.nodePath != "" {
				env = append(env, "NODE_PATH="+e.nodePath)
			}
		default:
			return nil, errors.New("harness: unknown server " + name)
		}
		p, err := startProc(ctx, name, pin, dir, env, argv...)
		if err != nil {
			s.stop()
			return nil, err
		}
		s.procs = append(s.procs, p)
	}
	return s, nil
}
