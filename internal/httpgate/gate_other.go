//go:build !linux

package httpgate

import "net"

// newGate: without epoll, the listener is served as it is.
func newGate(ln net.Listener, _ Options) net.Listener { return ln }
