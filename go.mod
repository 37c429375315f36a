module github.com/corvid-io/corvid

go 1.26

require (
	github.com/coder/websocket v1.8.15
	github.com/redis/rueidis v1.0.79
)

require (
	golang.org/x/sys v0.47.0 // indirect
)
