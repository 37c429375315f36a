module github.com/corvid-io/corvid

go 1.26

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/redis/rueidis v1.0.79
	golang.org/x/sys v0.47.0 // indirect
)
