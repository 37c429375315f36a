#!/usr/bin/env bash
# The full performance comparison (bench/harness): our Socket.IO server, the npm
# socket.io 4.8 server on Node.js and a ceiling, side by side on this machine,
# each server pinned to CPU 0 and the load generator to CPU 1. About six
# minutes on a 2-core machine (three 4 s stretches per scenario). Needs go, node + npm, redis-server and taskset;
# installs the pinned npm packages of bench/node with `npm ci`.
#
#   scripts/bench.sh                      the full run: writes BENCHMARKS.md and bench/results/
#   scripts/bench.sh -scenarios echo -out "" -md ""
#                                         any flags of bench/harness/cmd/harness (here: one
#                                         scenario, printed only, BENCHMARKS.md left alone)
#   scripts/bench.sh -profile DIR         also pprof profiles of our server into DIR
#   (cd bench && go run ./harness/cmd/harness -render bench/results -md BENCHMARKS.md)
#                                         render the committed run again (after a report change)
set -euo pipefail
cd "$(dirname "$0")/.."

# 10,000 idle connections and 10,000 room members need more descriptors than
# the usual 1024, on both ends.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

for cmd in go node npm redis-server taskset; do
	command -v "$cmd" >/dev/null || { echo "scripts/bench.sh: $cmd is required"; exit 2; }
done

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd bench && go build -o "$bin/harness" ./harness/cmd/harness)
"$bin/harness" -out bench/results -md BENCHMARKS.md -command scripts/bench.sh "$@"
