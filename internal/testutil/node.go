package testutil

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RepoRoot returns the root of the module (the folder holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testutil: cannot locate the repository")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// NodeModules returns conformance/node_modules and fails the test when the pinned
// npm packages are not installed (the README's test command runs `npm ci` there).
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(RepoRoot(t), "conformance", "node_modules")
	if _, err := os.Stat(filepath.Join(dir, ".package-lock.json")); err != nil {
		t.Fatalf("npm packages missing: run `npm ci --prefix conformance` (or the README's test command): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: %v", err)
	}
	return dir
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NodeProcess is a Node.js script started by StartNode.
type NodeProcess struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	cond  *sync.Cond
	done  chan struct{}
	err   error
}

// StartNode runs `node script args...` with NODE_PATH set to conformance/node_modules.
// script is a path relative to the repository root (for example
// "conformance/node/eio-server.js"). Its stdout lines are collected for WaitLine and
// Lines; stderr goes to the test log. The process is killed at the end of the test.
func StartNode(t testing.TB, script string, args ...string) *NodeProcess {
	t.Helper()
	nm := NodeModules(t)
	root := RepoRoot(t)
	cmd := exec.Command("node", append([]string{filepath.Join(root, script)}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NODE_PATH="+nm)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &NodeProcess{cmd: cmd, done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64*1024), 16<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.cond.Broadcast()
			p.mu.Unlock()
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 16<<20)
		for sc.Scan() {
			t.Logf("[node %s] %s", filepath.Base(script), sc.Text())
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		wg.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.cond.Broadcast()
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() { p.Kill() })
	return p
}

// Kill stops the process and waits for it and its output readers to end.
func (p *NodeProcess) Kill() {
	if p.cmd.Process != nil {
		p.cmd.Process.Kill()
	}
	<-p.done
}

// Wait waits for the process to exit and returns its exit error.
func (p *NodeProcess) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Lines returns the stdout lines printed so far.
func (p *NodeProcess) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// WaitLine waits until a stdout line starting with prefix has been printed, and
// returns it. It fails the test after timeout or when the process exits first.
func (p *NodeProcess) WaitLine(t testing.TB, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	stop := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer stop.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		for _, l := range p.lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		select {
		case <-p.done:
			t.Fatalf("node exited (%v) before printing %q; output:\n%s", p.err, prefix, strings.Join(p.lines, "\n"))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeout waiting for %q from node; output:\n%s", prefix, strings.Join(p.lines, "\n"))
		}
		p.cond.Wait()
	}
}

// WaitPort waits until something accepts TCP connections on 127.0.0.1:port.
func WaitPort(t testing.TB, port int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d not open after %v: %v", port, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
