//go:build !linux

package engineio

import (
	"errors"
	"time"
)

// parkSupported: elsewhere than linux a WebSocket session in push mode keeps
// a goroutine that reads its connection.
const parkSupported = false

type wsPark struct{}

var errNoPark = errors.New("engineio: parking not supported")

func (c *wsConn) parkFor(*Session) error { return errNoPark }
func (c *wsConn) rearm() error           { return errNoPark }
func (c *wsConn) unpark()                {}
func (c *wsConn) ready()                 {}

func (c *wsConn) awaitReadable(time.Duration) bool { return false }

func (c *wsConn) writeNonBlocking([]byte) (int, error) { return 0, errNoPark }

func (c *wsConn) readAvailable() (wsResult, bool, []byte, error) {
	return 0, false, nil, errNoPark
}
