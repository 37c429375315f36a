//go:build !linux

package harness

// Without epoll each websocket client has a reader goroutine (readWS).
const reactorSupported = false

type wsReadState struct{}

func reactorStart(*client, []byte) error { panic("harness: no reactor on this platform") }

func reactorStop(*client) bool { return false }
