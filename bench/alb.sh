#!/usr/bin/env bash
# bench/alb.sh (make bench-alb): requests per second through the lab's ALB
# node, through HAProxy with one thread, and straight to one backend, all on
# loopback, with the same load tool and settings.
#
#   core 0: the proxy under test (lab node with GOMAXPROCS=1, or HAProxy nbthread 1)
#   core 1: wrk and the two Go backends
#
# Order: lab, haproxy, lab, haproxy, direct; the lab and HAProxy figures are
# the median (with two runs: the mean) of their two runs. Raw wrk output goes
# to bench/results/<time>/.
#
# Environment: DURATION (seconds, 10s), WARMUP (2s), CONNS (64), THREADS (1),
# PROFILE=1 adds a profiled lab run (not counted) and prints pprof -top.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
PROFILE=${PROFILE:-0}
B1=127.0.0.1:18081
B2=127.0.0.1:18082
LAB_PORT=18080            # the node listens on 127.0.1.1:18080 (zone 1)
HAP=127.0.0.1:18090

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-alb.XXXXXX")
results="$here/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '%s\n' "$*" >&2; }
die() { say "bench-alb: $*"; exit 1; }

# stop PID: end one process this script started and forget it.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	local keep=() p
	for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	pids=("${keep[@]}")
}

# wait_port HOST:PORT [PID]: until something accepts connections there
# (10 s), failing early if process PID ends.
wait_port() {
	local host=${1%:*} port=${1##*:} i
	for i in $(seq 100); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
		if [[ -n ${2:-} ]] && ! kill -0 "$2" 2>/dev/null; then die "process $2 for $1 exited"; fi
		sleep 0.1
	done
	die "nothing listening on $1"
}

port_free() {
	local host=${1%:*} port=${1##*:}
	if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then die "$1 is already in use"; fi
}

# --- tools ---------------------------------------------------------------
if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null; then
	say "installing haproxy and wrk (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy wrk >/dev/null
fi
command -v taskset >/dev/null || die "taskset (util-linux) is missing"
[[ $(nproc) -ge 2 ]] || die "needs two cores (proxy on core 0, load and backends on core 1)"

for a in $B1 $B2 127.0.1.1:$LAB_PORT $HAP; do port_free "$a"; done

say "building into $tmp"
(cd "$repo" && CGO_ENABLED=0 go build -o "$tmp/" ./bench/cmd/albnode ./bench/cmd/backend)

# --- backends on core 1 --------------------------------------------------
for b in $B1 $B2; do
	taskset -c 1 "$tmp/backend" -addr "$b" 2>>"$results/backend.log" &
	pids+=($!)
	wait_port "$b" $!
done

# --- HAProxy config ------------------------------------------------------
# Same header work as the lab node: X-Forwarded-For/-Proto/-Port.
cat >"$tmp/haproxy.cfg" <<CFG
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 10s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    http-reuse always
    option forwardfor
frontend fe
    bind $HAP
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Port ${HAP##*:}
    default_backend be
backend be
    balance roundrobin
    server b1 $B1
    server b2 $B2
CFG
cp "$tmp/haproxy.cfg" "$results/haproxy.cfg"
haproxy -c -q -f "$tmp/haproxy.cfg" || die "bad HAProxy config"

# --- subjects ------------------------------------------------------------
proxy_pid=
# start_lab [extra albnode flags]
start_lab() {
	GOMAXPROCS=1 taskset -c 0 "$tmp/albnode" -port $LAB_PORT -backends "$B1,$B2" "$@" >"$tmp/albnode.out" 2>>"$results/albnode.log" &
	proxy_pid=$!
	pids+=($proxy_pid)
	local i
	for i in $(seq 300); do
		grep -q '^ready' "$tmp/albnode.out" 2>/dev/null && return 0
		kill -0 $proxy_pid 2>/dev/null || die "albnode exited; see $results/albnode.log"
		sleep 0.1
	done
	die "albnode not ready in 30 s"
}
start_haproxy() {
	taskset -c 0 haproxy -db -f "$tmp/haproxy.cfg" >>"$results/haproxy.log" 2>&1 &
	proxy_pid=$!
	pids+=($proxy_pid)
	wait_port $HAP $proxy_pid || die "HAProxy did not start; see $results/haproxy.log"
}

# cpu_ticks PID: user+system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# wrk_run NAME URL: warm up, then measure; raw output in results/NAME.txt,
# proxy CPU (ticks) during the measurement in results/NAME.cpu.
wrk_run() {
	local name=$1 url=$2 p t0 t1
	taskset -c 1 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >"$results/$name.warmup.txt" &
	p=$!; pids+=($p); wait $p; stop $p
	t0=$( [[ -n $proxy_pid ]] && cpu_ticks "$proxy_pid" || echo 0 )
	taskset -c 1 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$results/$name.txt" &
	p=$!; pids+=($p); wait $p || die "wrk failed for $name"; stop $p
	t1=$( [[ -n $proxy_pid ]] && cpu_ticks "$proxy_pid" || echo 0 )
	echo $((t1 - t0)) >"$results/$name.cpu"
	say "  $name: $(grep Requests/sec "$results/$name.txt")"
}

say "measuring: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up)"
for round in 1 2; do
	start_lab;     wrk_run "lab-$round"     "http://127.0.1.1:$LAB_PORT/"; stop "$proxy_pid"
	start_haproxy; wrk_run "haproxy-$round" "http://$HAP/";               stop "$proxy_pid"
done
proxy_pid=
wrk_run direct "http://$B1/"

if [[ $PROFILE == 1 ]]; then
	say "profiling the lab node (run not counted)"
	start_lab -cpuprofile "$results/albnode.pprof"
	wrk_run lab-profile "http://127.0.1.1:$LAB_PORT/"
	stop "$proxy_pid"
	go tool pprof -top -nodecount=15 "$tmp/albnode" "$results/albnode.pprof" >"$results/pprof-top.txt" 2>&1 || true
	go tool pprof -top -cum -nodecount=25 "$tmp/albnode" "$results/albnode.pprof" >"$results/pprof-top-cum.txt" 2>&1 || true
	cp "$tmp/albnode" "$results/albnode.bin"
fi

# --- report --------------------------------------------------------------
# summary FILE...: rps p50ms p99ms errors cpu% cpu-us/req for each run.
summary() {
	local f hz secs
	hz=$(getconf CLK_TCK)
	secs=${DURATION%s}
	for f in "$@"; do
		awk -v hz="$hz" -v secs="$secs" -v cpu="$(cat "${f%.txt}.cpu")" '
			function ms(v) {
				if (v ~ /us$/) return v / 1000
				if (v ~ /ms$/) return v + 0
				if (v ~ /s$/)  return v * 1000
				return v
			}
			/Requests\/sec/ { rps = $2 }
			/^ +50%/ { p50 = ms($2) }
			/^ +99%/ { p99 = ms($2) }
			/Non-2xx/ { err += $NF }
			/Socket errors/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
			/requests in/ { n = $1 }
			END {
				c = cpu / hz
				printf "%s %.3f %.3f %d %.0f %.1f\n", rps, p50, p99, err, (cpu > 0 ? 100 * c / secs : -1), (cpu > 0 && n > 0 ? 1e6 * c / n : -1)
			}' "$f"
	done
}
# median of the runs' lines, column by column (two runs: the mean)
median() {
	awk '{ for (i = 1; i <= NF; i++) v[i, NR] = $i; nf = NF }
		END {
			for (i = 1; i <= nf; i++) {
				n = 0; for (r = 1; r <= NR; r++) a[++n] = v[i, r]
				for (x = 1; x <= n; x++) for (y = x + 1; y <= n; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
				m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
				printf "%s%s", m, (i < nf ? " " : "\n")
			}
		}'
}

lab=$(summary "$results"/lab-1.txt "$results"/lab-2.txt | median)
hap=$(summary "$results"/haproxy-1.txt "$results"/haproxy-2.txt | median)
dir=$(summary "$results"/direct.txt)

{
	echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, HTTP/1.1 keep-alive; proxy on core 0, wrk + backends on core 1"
	echo "$(haproxy -v | head -1 | cut -d' ' -f1-3); $(go version | cut -d' ' -f3)"
	echo
	printf '%-22s %12s %10s %10s %7s %10s %12s\n' subject "requests/s" "p50 ms" "p99 ms" errors "proxy CPU" "CPU us/req"
	row() {
		read -r rps p50 p99 err cpu per <<<"$2"
		[[ $cpu == -1 ]] && cpu=- || cpu="$cpu%"
		[[ $per == -1* ]] && per=-
		printf '%-22s %12.0f %10.3f %10.3f %7d %10s %12s\n' "$1" "$rps" "$p50" "$p99" "$err" "$cpu" "$per"
	}
	for r in 1 2; do row "lab ALB node, run $r" "$(summary "$results/lab-$r.txt")"; done
	for r in 1 2; do row "HAProxy 1 thread, run $r" "$(summary "$results/haproxy-$r.txt")"; done
	row "lab ALB node (median)" "$lab"
	row "HAProxy (median)" "$hap"
	row "direct (one backend)" "$dir"
	echo
	awk -v l="${lab%% *}" -v h="${hap%% *}" -v d="${dir%% *}" 'BEGIN {
		printf "lab / HAProxy     = %.2f\n", l / h
		printf "HAProxy / direct  = %.2f\n", h / d
		printf "lab / direct      = %.2f\n", l / d
	}'
	if [[ -f $results/pprof-top.txt ]]; then
		echo
		echo "lab node CPU profile (profiled run: $(summary "$results/lab-profile.txt" | cut -d' ' -f1) requests/s):"
		cat "$results/pprof-top.txt"
	fi
	echo
	echo "raw output: $results"
} | tee "$results/summary.txt"
