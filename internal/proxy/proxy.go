package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
)

// RoundRobin forwards the connections it accepts to its backends in turn.
type RoundRobin struct {
	ln net.Listener

	mu       sync.Mutex
	backends []string
	next     int
	conns    map[net.Conn]struct{}
	closed   bool

	wg sync.WaitGroup
}

// New listens on a loopback port and forwards to backends (host:port).
func New(backends ...string) (*RoundRobin, error) {
	if len(backends) == 0 {
		return nil, errors.New("proxy: no backend")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &RoundRobin{ln: ln, backends: append([]string(nil), backends...), conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the proxy's host:port.
func (p *RoundRobin) Addr() string { return p.ln.Addr().String() }

// SetBackends replaces the backends (for connections accepted from now on);
// the connections already forwarded keep theirs.
func (p *RoundRobin) SetBackends(backends ...string) {
	p.mu.Lock()
	p.backends = append([]string(nil), backends...)
	p.next = 0
	p.mu.Unlock()
}

// Close stops accepting, cuts every forwarded connection and waits for the
// proxy's goroutines.
func (p *RoundRobin) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *RoundRobin) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.closed || len(p.backends) == 0 {
			p.mu.Unlock()
			c.Close()
			continue
		}
		backend := p.backends[p.next%len(p.backends)]
		p.next++
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.forward(c, backend)
	}
}

// track registers c; false when the proxy is closed (c is then closed).
func (p *RoundRobin) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *RoundRobin) untrack(cs ...net.Conn) {
	p.mu.Lock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
	p.mu.Unlock()
}

func (p *RoundRobin) forward(client net.Conn, backend string) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", backend)
	if err != nil {
		p.untrack(client)
		return
	}
	if !p.track(server) {
		p.untrack(client)
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(server, client)
		if tc, ok := server.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		close(done)
	}()
	io.Copy(client, server)
	if tc, ok := client.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
	p.untrack(client, server)
}
