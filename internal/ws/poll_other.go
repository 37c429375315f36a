//go:build !linux

package ws

import "errors"

// errNoPark: the platform has no poller; a goroutine reads instead.
var errNoPark = errors.New("engineio: parking not supported")

// parkSupported: elsewhere than linux a started connection keeps a goroutine
// that reads it.
const parkSupported = false

type wsPark struct{}

func (c *ownConn) startParked() error                   { return errNoPark }
func (c *ownConn) kick()                                {}
func (c *ownConn) unpark()                              {}
func (c *ownConn) writeNonBlocking([]byte) (int, error) { return 0, errNoPark }

// Quiesce has no poller to wait for here.
func Quiesce() {}
