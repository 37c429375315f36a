// Package epoll is an epoll set for goroutines that read many descriptors
// (the WebSocket pollers of internal/ws, the header gate of
// internal/httpgate): its waiter parks in the Go runtime's poller, like a
// goroutine blocked on a socket, instead of blocking in epoll_wait (a
// goroutine blocked in a system call keeps its P until sysmon takes it back,
// up to milliseconds later on a quiet process), and a wake pipe lets other
// goroutines interrupt the wait. Linux only.
package epoll
