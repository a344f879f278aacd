#!/usr/bin/env bash
# make test's runner: every package's tests, in two streams at once.
#
#   bash scripts/gotest.sh TIMEOUT
#
# The lab package's tests run real labs on a scaled clock and spend their
# time waiting on it: a whole pass takes about four wall minutes and uses
# about a fifth of one core (measured: 222 s wall, 40 s of CPU with its
# instances). So they run in a stream of their own beside every other
# package, instead of after them. Each stream runs its packages one at a time
# (-p 1), as before, so no two other packages' integration tests meet. The
# lab package's output is printed when its stream ends. Its tests' stacks use
# listener and database ports no other package's tests use, so two labs never
# claim one address. `make test-long` stays one package at a time: its long
# tests include a CPU burner.
#
# Exit status: non-zero when either stream failed.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
timeout=${1:-15m}
labpkg=github.com/simplydone/lab/lab

log=$(mktemp)
set -m # the lab stream in a process group of its own, so that it can be ended whole
"$GO" test -count=1 -p 1 -timeout "$timeout" "$labpkg" >"$log" 2>&1 &
labpid=$!
set +m
stop() {
	kill -INT -- "-$labpid" 2>/dev/null
	wait "$labpid" 2>/dev/null
	cat "$log"
	rm -f "$log"
	exit 130
}
trap stop INT TERM

echo "# $labpkg: its tests run beside the other packages'; its output follows theirs"
others=$("$GO" list ./... | grep -vx "$labpkg")
# shellcheck disable=SC2086 # one argument per package
"$GO" test -count=1 -p 1 -timeout "$timeout" $others
rest=$?

wait "$labpid"
labrc=$?
trap - INT TERM
echo "# $labpkg:"
cat "$log"
rm -f "$log"
if [ "$rest" -ne 0 ] || [ "$labrc" -ne 0 ]; then
	echo "FAIL: the other packages exited $rest, $labpkg exited $labrc" >&2
	exit 1
fi
