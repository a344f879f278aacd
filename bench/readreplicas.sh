#!/usr/bin/env bash
# bench/readreplicas.sh: the scaling journey's stage 2 against stage 3 under the
# same read-heavy sale, measured with `lab run` on real processes and real
# PostgreSQL, one run at a time, then `lab compare`d.
#
#   bash bench/readreplicas.sh [LAB_BINARY] [ROUNDS]
#
#   1. read-heavy-sale (stack multi-az: every read and write on one db.t3.micro
#      primary; expected FAIL) and read-replicas (stack read-replicas: reads on
#      an asynchronous read replica; expected PASS), ROUNDS times each (default 1),
#      alternating so that the host's load falls on both alike.
#   2. `lab compare` of each pair: the terminal table (compare.txt) and the HTML.
#   3. a table of every run: scenario, exit code, verdict, the primary's and the
#      replica's busiest CPU minute (summary.json's database section).
#
# A run the host starved reads INVALID (its numbers describe the host, not the
# stack); the table keeps it, and its primary CPU says whether the database
# saturated all the same. LAB_BINARY defaults to bin/lab (make build). Results go
# under bench/results/readreplicas-<time>/. Needs PostgreSQL (make run-deps).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lab=${1:-$here/../bin/lab}
rounds=${2:-1}
out="$here/results/readreplicas-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"

# run SCENARIO N: one run; prints its run directory.
run() {
	local s=$1 n=$2
	"$lab" run "$s" --driver process --no-tui --out "$out/runs" >"$out/$s-$n.log" 2>&1
	echo $? >"$out/$s-$n.rc"
	grep -oE 'evidence in [^ ]+' "$out/$s-$n.log" | head -1 | cut -d' ' -f3
}

# peaks DIR: the primary's and the read replica's busiest CPU minute.
peaks() {
	python3 - "$1/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
cpu = {"primary": "-", "read-replica": "-"}
for p in s.get("database") or []:
    if p["role"] in cpu:
        cpu[p["role"]] = "%.0f%%" % p["peak_cpu"]
print(s["verdict"], "%.2f%%" % s["success_rate"], "%.0fms" % s["latency_ms"]["p99"], cpu["primary"], cpu["read-replica"])
EOF
}

printf '%-16s %-5s %-4s %-8s %-9s %-8s %-8s %s\n' scenario round exit verdict success p99 primary replica | tee "$out/table.txt"
for n in $(seq 1 "$rounds"); do
	a=$(run read-heavy-sale "$n")
	b=$(run read-replicas "$n")
	for pair in "read-heavy-sale:$a" "read-replicas:$b"; do
		s=${pair%%:*} d=${pair#*:}
		if [ -n "$d" ] && [ -f "$d/summary.json" ]; then
			read -r verdict success p99 primary replica < <(peaks "$d")
		else
			verdict=none success=- p99=- primary=- replica=-
		fi
		printf '%-16s %-5s %-4s %-8s %-9s %-8s %-8s %s\n' "$s" "$n" "$(cat "$out/$s-$n.rc")" "$verdict" "$success" "$p99" "$primary" "$replica" | tee -a "$out/table.txt"
	done
	if [ -n "$a" ] && [ -n "$b" ]; then
		"$lab" compare "$a" "$b" -o "$out/compare-$n.html" >"$out/compare-$n.txt" 2>&1
	fi
done
echo "results: $out"
