// Package proxy is a small round-robin TCP proxy for tests: it stands for a
// load balancer without sticky sessions in front of several servers. Each
// accepted connection is sent to the next backend in turn, so two HTTP
// requests on different connections may reach different servers, while a
// WebSocket (one connection) stays on one.
//
// It is internal: tests only, not a production load balancer.
package proxy
