#!/usr/bin/env bash
# Long reliability runs: the CI tests of conformance/reliability_*_test.go and
# conformance/security_*_test.go with CORVID_LONG=1 (bigger floods, 1,000
# clients for the graceful shutdown, a 10-minute churn of 2,000 clients, a
# 10-second Redis outage), then every fuzz target for FUZZTIME (default 10m).
# The figures are in the -v output (lines starting with the test file name).
#
#   scripts/long.sh              everything (about 2 hours: 10 fuzz targets x 10 min + ~15 min)
#   scripts/long.sh reliability  only the long reliability tests
#   scripts/long.sh fuzz         only the fuzz run (same as FUZZTIME=10m scripts/test.sh fuzz)
#
# Needs what scripts/test.sh needs (node with conformance/node_modules, redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10m}
what=${1:-all}

reliability() {
	echo "=== reliability and security, CORVID_LONG=1"
	CORVID_LONG=1 go test -race -count=1 -v -timeout=60m \
		-run '^(TestReliability|TestSecurity)' ./conformance
}

fuzz() {
	FUZZTIME=$FUZZTIME scripts/test.sh fuzz
}

case "$what" in
all)
	reliability
	fuzz
	;;
reliability) reliability ;;
fuzz) fuzz ;;
*) echo "usage: $0 [all|reliability|fuzz]"; exit 2 ;;
esac
