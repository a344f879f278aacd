#!/usr/bin/env bash
# bench/agents.sh (make bench-agents): the controller's cost per agent.
#
# Runs the real pieces on this machine: K `lab agent` processes, agent k
# listening on 127.0.(100+k).250:7450 with the subnet 127.0.(100+k).0/24
# (all of 127/8 is local: no namespaces), and `lab run` of a steady
# scenario (a constant low rate, no chaos) on a stack of K zones, each
# zone on its agent, an Auto Scaling group of K*I SimplyDone instances
# (I per agent; idle apart from health checks and the low rate: the point
# is the controller's cost per agent, not the instances' load).
#
# The controller is measured alone (its own process: /proc/PID/stat
# utime+stime, not its children's) over a window of the run's steady
# part: from when its K*I instances are in service + SKIP wall seconds, for
# WINDOW wall seconds; the run is then ended as by Ctrl-C. Also its RSS (VmRSS at the window's end), and
# the TCP bytes its connections to the agents' API ports carried in the
# window (ss -ti: bytes_acked + bytes_received of the controller's sockets
# to port 7450; memberlist's UDP probes are not counted).
#
# LOCAL_KS runs the same stacks with the zones on this host (no agent) at
# I = the largest of IS, for comparison: what the agents add over the same
# fleet run locally.
#
# ALT=PATH (another lab binary, e.g. before a change) runs every agents
# configuration a second time with it, right after LAB's (mode
# agents-ALT_NAME, default agents-alt): a before/after in the same rounds.
#
# Environment: LAB (bin/lab), KS ("2 3 4": an ALB needs 2 zones), IS ("2 10"), LOCAL_KS ("2 4"),
# ROUNDS (3), SPEED (20), SKIP (5), WINDOW (20), RATE (5 requests/s),
# OUT (/tmp/cost20-bench/<time>). Output: OUT/samples.tsv (one line a run)
# and a summary table (medians over the rounds, and the slope over K).
set -euo pipefail
LAB=$(realpath "${LAB:-bin/lab}")
KS=${KS:-"2 3 4"}
IS=${IS:-"2 10"}
LOCAL_KS=${LOCAL_KS-"2 4"}
ROUNDS=${ROUNDS:-3}
SPEED=${SPEED:-20}
SKIP=${SKIP:-5}
WINDOW=${WINDOW:-20}
RATE=${RATE:-5}
OUT=${OUT:-/tmp/cost20-bench/$(date +%Y%m%d-%H%M%S)}
ALT=${ALT:+$(realpath "$ALT")}
ALT_NAME=${ALT_NAME:-alt}
PORT=7450
LBPORT=${LBPORT:-18971}
TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
ZONES=(us-east-1a us-east-1b us-east-1c us-east-1d us-east-1e us-east-1f)

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo -1; }
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo -1; }
# tcp_bytes PID: bytes acked out + received in, over the PID's sockets to the agents' port.
tcp_bytes() {
	ss -tinpH "( dport = :$PORT )" 2>/dev/null | awk -v pid="pid=$1," '
		/users:/ { mine = index($0, pid) > 0; next }
		mine { for (i = 1; i <= NF; i++) { if ($i ~ /^bytes_acked:/) { split($i, a, ":"); s += a[2] } if ($i ~ /^bytes_received:/) { split($i, a, ":"); s += a[2] } } }
		END { print s + 0 }'
}

# one MODE K I ROUND [BIN]: one run; appends a line to samples.tsv.
one() {
	local mode=$1 k=$2 i=$3 round=$4 bin=${5:-$LAB}
	local dir="$OUT/$mode-k$k-i$i-r$round"
	mkdir -p "$dir"
	local n=$((k * i)) wall=$((2 * k * i + SKIP + WINDOW + 20))
	local aws=$((wall * SPEED))
	"$bin" agent token --out "$dir/token" >/dev/null
	{
		echo "name: cost-k$k-i$i"
		echo "zones:"
		for ((z = 0; z < k; z++)); do
			if [[ $mode == agents* ]]; then
				echo "  - {name: ${ZONES[$z]}, agent: \"127.0.$((101 + z)).250:$PORT\"}"
			else
				echo "  - {name: ${ZONES[$z]}}"
			fi
		done
		cat <<YAML
load_balancer: {listener: {port: $LBPORT}}
target_group:
  port: $LBPORT
  deregistration_delay: 0s
  health_check: {path: /health, interval: 30s, timeout: 5s, healthy_threshold: 2, unhealthy_threshold: 2}
launch_template:
  command: [simplydone]
  instance_type: t3.micro
  pending_time: 0s
auto_scaling_group: {min_size: $n, max_size: $n, desired_capacity: $n, health_check_type: ELB, health_check_grace_period: 60s}
YAML
	} >"$dir/stack.yaml"
	cat >"$dir/sc.yaml" <<YAML
name: cost-steady
stack: stack.yaml
speed: $SPEED
seed: 7
load:
  phases:
    - {name: steady, duration: ${aws}s, rate: $RATE}
slos:
  - success_rate >= 99%
YAML
	if [[ $mode == agents* ]]; then
		for ((z = 0; z < k; z++)); do
			local ip="127.0.$((101 + z)).250"
			"$bin" agent --listen "$ip:$PORT" --subnet "127.0.$((101 + z)).0/24" --token-file "$dir/token" --dir "$dir/agent$z" >"$dir/agent$z.log" 2>&1 &
			pids+=($!)
		done
		for ((z = 0; z < k; z++)); do
			local ip="127.0.$((101 + z)).250" t=0
			until timeout 1 bash -c "</dev/tcp/$ip/$PORT" 2>/dev/null; do
				((t++ < 100)) || { echo "agent $ip:$PORT not listening after 20 s" >&2; cat "$dir/agent$z.log" >&2; exit 1; }
				sleep 0.2 # poll while the agent starts
			done
		done
	fi
	(cd "$dir" && exec "$bin" run sc.yaml --driver process --no-tui --out "$dir/runs" --agent-token-file "$dir/token") >"$dir/run.log" 2>&1 &
	local lab=$!
	pids+=($lab)
	# The steady part starts once the group's K*I instances are in service.
	local t=0
	until (($(grep -c "Pending -> InService" "$dir/run.log" 2>/dev/null || true) >= n)); do
		kill -0 "$lab" 2>/dev/null || { echo "lab run ended early:" >&2; tail -20 "$dir/run.log" >&2; exit 1; }
		((t++ < 10 * (2 * n + 20))) || { echo "$n instances not in service in $((2 * n + 20)) s" >&2; tail "$dir/run.log" >&2; exit 1; }
		sleep 0.1
	done
	sleep "$SKIP"
	local c0 b0 c1 b1 rss load0 load1
	c0=$(cpu_ticks "$lab"); b0=$(tcp_bytes "$lab"); load0=$(cut -d' ' -f1 /proc/loadavg)
	local s0=$EPOCHREALTIME
	sleep "$WINDOW"
	c1=$(cpu_ticks "$lab"); b1=$(tcp_bytes "$lab"); rss=$(rss_kb "$lab"); load1=$(cut -d' ' -f1 /proc/loadavg)
	local s1=$EPOCHREALTIME
	# The window is all that is measured: the run is ended as by Ctrl-C
	# (its instances terminated, the agents' runs closed), then the agents.
	kill -INT "$lab"
	wait "$lab" && rc=0 || rc=$?
	cleanup
	local verdict
	verdict=$(grep -Eo "verdict[^,]*|PASS|FAIL" "$dir/run.log" | head -1 || true)
	awk -v mode="$mode" -v k="$k" -v i="$i" -v r="$round" -v c0="$c0" -v c1="$c1" -v tck="$TCK" -v s0="$s0" -v s1="$s1" \
		-v b0="$b0" -v b1="$b1" -v rss="$rss" -v l0="$load0" -v l1="$load1" -v rc="$rc" -v sp="$SPEED" 'BEGIN {
		w = s1 - s0; ms = (c1 - c0) * 1000 / tck
		printf "%s\t%d\t%d\t%d\t%.1f\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t%s\t%d\n", mode, k, i, r, w, ms * 60 / w, ms * 60 / (w * sp), (b1 - b0) / w, rss / 1024, l0, l1, rc
	}' | tee -a "$OUT/samples.tsv"
}

printf "mode\tK\tI\tround\twindow_s\tcpu_ms_per_wall_min\tcpu_ms_per_aws_min\tagent_tcp_B_per_s\trss_MiB\tload_before\tload_after\texit\n" | tee "$OUT/samples.tsv"
for ((r = 1; r <= ROUNDS; r++)); do
	for i in $IS; do
		for k in $KS; do
			one agents "$k" "$i" "$r"
			[[ -z $ALT ]] || one "agents-$ALT_NAME" "$k" "$i" "$r" "$ALT"
		done
	done
	ilast=${IS##* }
	for k in $LOCAL_KS; do one local "$k" "$ilast" "$r"; done
done

# Medians over the rounds, and the slope over K (least squares of the medians).
echo
echo "medians over $ROUNDS rounds (speed $SPEED; window $WINDOW s):"
{
	printf "mode\tK\tI\tcpu_ms/wall_min\tcpu_ms/aws_min\tagent_tcp_B/s\trss_MiB\n"
	awk -F'\t' 'NR > 1 { key = $1 "\t" $2 "\t" $3; v[key] = v[key] " " $6; a[key] = a[key] " " $7; b[key] = b[key] " " $8; m[key] = m[key] " " $9 }
	function med(s,   n, x, i, j, t) { n = split(s, x, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] + 0 < x[i] + 0) { t = x[i]; x[i] = x[j]; x[j] = t } return n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
	END { for (key in v) printf "%s\t%s\t%s\t%s\t%s\n", key, med(v[key]), med(a[key]), med(b[key]), med(m[key]) }' "$OUT/samples.tsv" | sort -t$'\t' -k1,1 -k3,3n -k2,2n
} | tee "$OUT/medians.tsv"
echo
awk -F'\t' 'NR > 1 { g = $1 " I=" $3; sx[g] += $2; sy[g] += $4; sxx[g] += $2 * $2; sxy[g] += $2 * $4; c[g]++ }
END { for (g in c) if (c[g] > 1) printf "slope %s: %.0f CPU ms per wall minute per %s\n", g, (c[g] * sxy[g] - sx[g] * sy[g]) / (c[g] * sxx[g] - sx[g] * sx[g]), g ~ /^agents/ ? "agent" : "local zone" }' "$OUT/medians.tsv" | sort | tee "$OUT/summary.txt"
