// Package sioclient benchmarks the Go Socket.IO client (socketio.Manager and
// ClientSocket): emit-with-ack round trips against our own socketio.Server and
// against the npm socket.io 4.8 server (conformance/node/sioclient_server.js),
// in one run, so that the numbers compare:
//
//	cd bench && go test -run '^$' -bench . -benchtime 2s ./sioclient/
package sioclient
