#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian machine (as root, or with sudo):
# installs what the tests need, then vet, staticcheck, the race-enabled tests, and a
# short fuzz run.
#
#   scripts/test.sh            everything
#   scripts/test.sh lint       only vet and staticcheck
#   FUZZTIME=10m scripts/test.sh fuzz   only the fuzz targets, each for FUZZTIME
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-20s}
what=${1:-all}

log() { printf '\n=== %s\n' "$*"; }

apt_install() {
	# apt_install CMD PACKAGE...: installs the packages when CMD is missing.
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	log "installing $* (apt-get)"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

setup() {
	command -v go >/dev/null || { echo "go is required (1.26)"; exit 2; }
	apt_install node nodejs npm
	apt_install redis-server redis-server
	apt_install chromium chromium
	log "npm ci (conformance/)"
	(cd conformance && npm ci --no-audit --no-fund --loglevel=error)
}

fuzz_log=$(mktemp)
tool_dir=$(mktemp -d)
trap 'rm -rf "$fuzz_log" "$tool_dir"' EXIT

# lint: go vet, then staticcheck at the version pinned by the nested tools
# module (tools/go.mod), built from it and run over this module.
lint() {
	log "go vet"
	go vet ./...
	log "staticcheck (tools/go.mod)"
	go build -C tools -o "$tool_dir/staticcheck" honnef.co/go/tools/cmd/staticcheck
	"$tool_dir/staticcheck" ./...
}

# The packages whose fuzz targets CI runs: ./fuzz (every decoder) and
# ./engineio (FuzzWebSocketFrames, the WebSocket frame reader driven over a
# loopback connection).
fuzz_pkgs=(./fuzz ./engineio)

# fuzz_one PKG TARGET: fuzzes one target for FUZZTIME, its output shown and
# kept in $fuzz_log. Minimizing an input that found new coverage may take
# 60 s by default, with no new input tried meanwhile (the engine shows
# "0/sec"); a few seconds of it leave FUZZTIME to the search.
fuzz_one() {
	go test -run='^$' -fuzz="^${2}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=3s "$1" 2>&1 | tee "$fuzz_log"
	return "${PIPESTATUS[0]}"
}

fuzz() {
	log "fuzz: every target for $FUZZTIME"
	local pkg t targets
	for pkg in "${fuzz_pkgs[@]}"; do
		targets=$(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true)
		[ -n "$targets" ] || { echo "no fuzz targets found in $pkg"; return 1; }
		for t in $targets; do
			echo "--- $pkg $t"
			fuzz_one "$pkg" "$t" && continue
			# Go's fuzzing engine sometimes ends a run that found nothing with
			# "context deadline exceeded" (a worker slow to answer at the deadline).
			# A real finding always writes its input under the package's
			# testdata/fuzz; only a run without one is tried again, once.
			if grep -q "Failing input written to" "$fuzz_log" ||
				! grep -q "context deadline exceeded" "$fuzz_log"; then
				return 1
			fi
			echo "--- $pkg $t again: the engine timed out at its deadline without a failing input"
			fuzz_one "$pkg" "$t" || return 1
		done
	done
}

case "$what" in
all)
	setup
	lint
	log "go test -race"
	go test -race -shuffle=on -count=1 -timeout=15m ./...
	log "bench module (nested): vet, tests and the harness smoke run"
	(cd bench && go vet ./... && go test -race -count=1 -timeout=10m ./...)
	log "nested modules (metrics/prometheus, metrics/otel, admin/bcrypt): vet and tests"
	for m in metrics/prometheus metrics/otel admin/bcrypt; do (cd "$m" && go vet ./... && go test -race -count=1 -timeout=5m ./...); done
	fuzz
	;;
lint) lint ;;
fuzz) fuzz ;;
*) echo "usage: $0 [all|lint|fuzz]"; exit 2 ;;
esac
