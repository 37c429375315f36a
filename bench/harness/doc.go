// Package harness compares the performance of our Socket.IO server with the
// npm socket.io 4.8 server and with a ceiling, side by side on one machine, in
// one run.
//
// Run starts, for every scenario and server, a fresh server process (pinned
// with taskset to one CPU when Config.Pin is set): our server
// (cmd/corvidserver, a socketio.Server), the Node server (bench/node/server.js
// on the pinned npm packages of bench/node, installed with npm ci) and the
// ceiling (cmd/ceilingserver, the same work on github.com/coder/websocket with
// nothing of our stack). The load generator is this process: it speaks Engine.IO
// v4 / Socket.IO v5 itself over raw websocket and HTTP long-polling, so it is
// the same for every server. It reports its own CPU beside every figure and
// marks the figures measured while it saturated its core as lower bounds.
//
// The scenarios (ScenarioNames): idle connections (RSS per connection,
// connections per second), echo with acks (closed loop), fanout at a fixed rate
// and as fast as it goes, rooms, polling-only echo and fanout, 64 KiB binary
// echo, and two nodes on Redis. Table, JSONLines, Charts (SVG drawn here, no
// chart library) and Report.Markdown render a run; Targets checks the goals of
// the project's performance issue.
//
// The full run is scripts/bench.sh (cmd/harness); the package's smoke test
// runs every scenario with a few connections for a fraction of a second:
//
//	cd bench && go test ./harness/ -run Smoke
package harness
