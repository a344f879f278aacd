#!/usr/bin/env bash
# bench/scenarios.sh (make scenarios): run every built-in scenario once, one at
# a time, and print a table: scenario, driver, exit code, verdict line, wall
# seconds. Used to check that a change leaves every verdict as it was.
#
#   bash bench/scenarios.sh [LAB_BINARY] [DRIVER...]
#
# LAB_BINARY defaults to bin/lab (built by `make build`); DRIVER to "process"
# (give "process docker" for both). RUN_FLAGS are given to every lab run
# (e.g. RUN_FLAGS=--agents-in-process=false). Runs go under
# bench/results/scenarios-<time>/. SCENARIOS="a b" runs only those.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab=${1:-$here/../bin/lab}
shift || true
drivers=${*:-process}
out="$here/results/scenarios-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
scenarios=${SCENARIOS:-$("$lab" scenarios | awk '{print $1}' | grep -E '^[a-z][a-z0-9-]+$')}
echo "lab run SCENARIO --driver DRIVER --no-tui ${RUN_FLAGS:-}" | tee "$out/table.txt"
printf '%-20s %-8s %-4s %-6s %s\n' scenario driver exit wall verdict | tee -a "$out/table.txt"
for d in $drivers; do
	for s in $scenarios; do
		t0=$(date +%s)
		# shellcheck disable=SC2086 # RUN_FLAGS is a list of flags
		"$lab" run "$s" --driver "$d" --no-tui ${RUN_FLAGS:-} --out "$out/runs/$s-$d" >"$out/$s-$d.log" 2>&1
		rc=$?
		t1=$(date +%s)
		verdict=$(grep -E '^(PASS|FAIL|INVALID|INTERRUPTED) ' "$out/$s-$d.log" | head -1 | cut -c1-110)
		printf '%-20s %-8s %-4s %-6s %s\n' "$s" "$d" "$rc" "$((t1 - t0))" "$verdict" | tee -a "$out/table.txt"
	done
done
echo "results: $out"
