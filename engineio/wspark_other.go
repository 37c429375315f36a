//go:build !linux

package engineio

import "errors"

// parkSupported: elsewhere than linux a WebSocket session in push mode keeps
// a goroutine that reads its connection.
const parkSupported = false

type wsPark struct{}

var errNoPark = errors.New("engineio: parking not supported")

func (c *wsConn) parkFor(*Session) error { return errNoPark }
func (c *wsConn) kick()                  {}
func (c *wsConn) unpark()                {}

func (c *wsConn) writeNonBlocking([]byte) (int, error) { return 0, errNoPark }
func quiescePollers()                                  {}
