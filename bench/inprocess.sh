#!/usr/bin/env bash
# bench/inprocess.sh (make bench-inprocess): what running a one-host stack's
# zones on agents in the lab's own process (lab run's default) costs and
# changes against the zones as the lab's own (lab run
# --agents-in-process=false, "single-host" here), same scenario, same seed,
# one run at a time.
#
# ROUNDS rounds (3); each round runs SCENARIO (instance-kill) once each way,
# the order swapped every round. For each run: the verdict, the success
# rate, p99 latency, and the lab process's own CPU (host.jsonl's "lab":
# utime+stime of the lab's process per wall second, not its instances';
# the in-process agents, their nodes included, run in it) as the mean over
# the run's seconds. Then the medians per mode, and the in-process run's
# CPU over the single-host run's round by round.
#
# Environment: SCENARIO (instance-kill), ROUNDS (3), LAB (bin/lab),
# OUT (bench/results/inprocess-<time>).
set -euo pipefail

SCENARIO=${SCENARIO:-instance-kill}
ROUNDS=${ROUNDS:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
LAB=${LAB:-$repo/bin/lab}
OUT=${OUT:-$here/results/inprocess-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/runs"

if ! command -v jq >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null
fi
[ -x "$LAB" ] || (cd "$repo" && make -s build)

# one MODE ROUND: runs the scenario, prints "mode round verdict success p99 lab-cores run".
one() {
	local mode=$1 r=$2 flags=()
	[ "$mode" = single-host ] && flags=(--agents-in-process=false)
	local before
	before=$(ls "$OUT/runs")
	"$LAB" run "$SCENARIO" --no-tui --out "$OUT/runs" "${flags[@]}" >"$OUT/$mode-r$r.console.log" 2>&1 || true
	local dir
	dir=$(comm -13 <(echo "$before") <(ls "$OUT/runs") | head -1)
	if [ -z "$dir" ] || [ ! -s "$OUT/runs/$dir/summary.json" ]; then
		printf '%s %s %s - - - -\n' "$mode" "$r" "no-summary"
		return
	fi
	local d=$OUT/runs/$dir
	local cores
	cores=$(jq -s '[.[].lab] | add / length' "$d/host.jsonl")
	jq -r --arg m "$mode" --arg r "$r" --arg c "$cores" --arg id "$dir" \
		'"\($m) \($r) \(.verdict) \(.success_rate * 100 | round / 100) \(.latency_ms.p99 * 10 | round / 10) \($c | tonumber * 1000 | round / 1000) \($id)"' "$d/summary.json"
}

# median: the median of the sorted numbers on stdin, one a line.
median() { awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

rows=()
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then order=(single-host in-process); else order=(in-process single-host); fi
	for m in "${order[@]}"; do
		echo "== $(date +%T) round $r: $SCENARIO, $m" >&2
		rows+=("$(one "$m" "$r")")
	done
done

{
	echo "SCENARIO $SCENARIO, $ROUNDS rounds, order swapped each round; lab = the lab process's own CPU (cores, mean over the run's wall seconds)"
	printf '%-12s %5s %-8s %9s %9s %9s  %s\n' mode round verdict success% p99_ms lab_cores run
	for row in "${rows[@]}"; do
		read -r m r v s p c id <<<"$row"
		printf '%-12s %5s %-8s %9s %9s %9s  %s\n' "$m" "$r" "$v" "$s" "$p" "$c" "$id"
	done
	echo
	for m in single-host in-process; do
		cores=$(printf '%s\n' "${rows[@]}" | awk -v m="$m" '$1 == m && $6 != "-" { print $6 }' | sort -n)
		p99s=$(printf '%s\n' "${rows[@]}" | awk -v m="$m" '$1 == m && $5 != "-" { print $5 }' | sort -n)
		[ -n "$cores" ] && printf 'median %-12s lab cores %s, p99 %s ms (%d runs)\n' "$m" "$(median <<<"$cores")" "$(median <<<"$p99s")" "$(wc -l <<<"$cores")"
	done
	printf '%s\n' "${rows[@]}" | awk '$6 != "-" { c[$2, $1] = $6; rs[$2] = 1 }
		END { for (r in rs) if ((r, "single-host") in c && (r, "in-process") in c && c[r, "single-host"] > 0) printf "round %s: in-process / single-host lab CPU = %.2f\n", r, c[r, "in-process"] / c[r, "single-host"] }' | sort
} | tee "$OUT/table.txt"
echo "results in $OUT"
