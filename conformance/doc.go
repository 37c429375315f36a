// Package conformance holds the tests that run the project against the real
// JavaScript implementation (npm engine.io, socket.io and their clients, pinned in
// package.json and package-lock.json and installed with `npm ci`), and the wire-level
// tests that cover every case of the official Engine.IO and Socket.IO protocol suites.
//
// ws_framing_test.go is the WebSocket framing suite: the Autobahn testsuite's
// case categories as byte sequences sent to our framing, to coder/websocket
// and to npm ws (under engine.io), each held to RFC 6455's outcome.
//
// The Node.js scripts the tests start live in node/; cmd/suite-server serves what the
// official suites expect, for running them by hand.
package conformance
