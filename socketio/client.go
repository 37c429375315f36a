package socketio

import (
	"context"
	"fmt"
	"net/url"
	"sync"
)

// NewClientSocket returns the socket of the namespace in rawURL's path ("/"
// when none), on a new Manager of its own, without connecting: register
// handlers, then call Connect or Open. Disconnecting the socket closes the
// Manager's connection (it is its only socket); Manager().Close releases
// everything.
func NewClientSocket(rawURL string, opts *ClientOptions) (*ClientSocket, error) {
	nsp, mopts, sopts, err := clientSplit(rawURL, opts)
	if err != nil {
		return nil, err
	}
	m, err := NewManager(rawURL, mopts)
	if err != nil {
		return nil, err
	}
	return m.Socket(nsp, sopts), nil
}

// Connect is NewClientSocket followed by ClientSocket.Connect: it returns a
// connected socket, or an error (a *ConnectError when the server refused the
// namespace) after releasing what it made.
//
// Handlers set after Connect returns may miss events the server emits right
// after the connection; set them between NewClientSocket and Connect instead.
func Connect(ctx context.Context, rawURL string, opts *ClientOptions) (*ClientSocket, error) {
	s, err := NewClientSocket(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(ctx); err != nil {
		s.m.Close()
		return nil, err
	}
	return s, nil
}

// clientSplit parses rawURL into the namespace and the option parts.
func clientSplit(rawURL string, opts *ClientOptions) (string, *ManagerOptions, *ClientSocketOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, nil, fmt.Errorf("socketio: client url: %w", err)
	}
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	return nsp, &o.ManagerOptions, &o.ClientSocketOptions, nil
}

// ClientCache shares Managers between the sockets of one server, like the
// reference's io() function: sockets of different namespaces on the same
// server (scheme, host and Path) are multiplexed on one Engine.IO connection,
// unless ForceNew is set or the namespace is already in use on the cached
// Manager. The zero value is ready to use; Close closes every Manager it made.
//
// The ManagerOptions of a socket that reuses a cached Manager are ignored.
type ClientCache struct {
	mu       sync.Mutex
	managers map[string]*Manager
	all      map[*Manager]struct{}
	closed   bool
}

// Socket returns the socket of rawURL's namespace, not yet connected (see
// NewClientSocket), on a cached or new Manager.
func (c *ClientCache) Socket(rawURL string, opts *ClientOptions) (*ClientSocket, error) {
	nsp, mopts, sopts, err := clientSplit(rawURL, opts)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	path := mopts.Path
	if path == "" {
		path = clientDefaultPath
	}
	key := u.Scheme + "://" + u.Host + path
	forceNew := opts != nil && opts.ForceNew

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClientClosed
	}
	if !forceNew {
		if m := c.managers[key]; m != nil {
			m.mu.Lock()
			_, used := m.sockets[nsp]
			closed := m.closed
			m.mu.Unlock()
			if !used && !closed {
				return m.Socket(nsp, sopts), nil
			}
		}
	}
	m, err := NewManager(rawURL, mopts)
	if err != nil {
		return nil, err
	}
	if c.all == nil {
		c.all = make(map[*Manager]struct{})
		c.managers = make(map[string]*Manager)
	}
	c.all[m] = struct{}{}
	if !forceNew {
		c.managers[key] = m
	}
	m.onClosed = func() { c.forget(key, m) }
	return m.Socket(nsp, sopts), nil
}

// Connect is Socket followed by ClientSocket.Connect. When the connection
// fails, the socket is disconnected (its Manager stays cached).
func (c *ClientCache) Connect(ctx context.Context, rawURL string, opts *ClientOptions) (*ClientSocket, error) {
	s, err := c.Socket(rawURL, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Connect(ctx); err != nil {
		s.Disconnect()
		return nil, err
	}
	return s, nil
}

func (c *ClientCache) forget(key string, m *Manager) {
	c.mu.Lock()
	delete(c.all, m)
	if c.managers[key] == m {
		delete(c.managers, key)
	}
	c.mu.Unlock()
}

// Close closes every Manager the cache made and empties it; later calls of
// Socket and Connect fail with ErrClientClosed.
func (c *ClientCache) Close() error {
	c.mu.Lock()
	c.closed = true
	ms := make([]*Manager, 0, len(c.all))
	for m := range c.all {
		ms = append(ms, m)
	}
	c.mu.Unlock()
	for _, m := range ms {
		m.Close()
	}
	return nil
}
