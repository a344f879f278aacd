#!/usr/bin/env bash
# bench/alb.sh (make bench-alb): requests per second through the lab's ALB
# node, through HAProxy (one thread) and nginx (one worker), and straight to
# one backend, all on loopback, with the same load tools and settings.
#
#   core 0: the proxy under test (lab node with GOMAXPROCS=1, HAProxy
#           nbthread 1, nginx worker_processes 1)
#   core 1: the load tool and the two Go backends
#
# The lab node runs as in a lab run: health checks on (every 5 AWS s at 10x),
# its access log written to a file and its Prometheus endpoint up (scraped
# once a second during every lab measurement, by bench/cmd/scrape on core 1:
# one process and one keep-alive connection, as Prometheus scrapes).
# HAProxy and nginx log nothing.
#
# 1. Throughput: wrk -t1 -c64 (closed loop, as fast as the proxy goes).
#    TP_ROUNDS rounds (5), every proxy once a round in an order rotated
#    each round, then direct; each proxy's figure is the median of its
#    runs (the mean of two with TP_ROUNDS=2), and the loop front's
#    throughput and CPU per request over HAProxy's are also given round by
#    round (this host's throughput swings by a fifth between windows).
# 2. Latency at a fixed load: bench/cmd/rate, an open-loop constant-rate
#    client in the manner of wrk2 (not packaged in Debian; vegeta could not
#    hold these rates on the shared core), 64 keep-alive connections, at
#    one rate for every subject: 50% of the lab node's measured throughput.
#    Latency counts from when each request was due. LAT_ROUNDS rounds, every
#    subject once a round in an order rotated each round; each subject's
#    median over the rounds, and the median of the rounds' paired p99
#    differences against HAProxy (one window per subject measured this
#    host's noise: HAProxy's own p99 ranged 5 to 74 ms between windows).
#    The loop front runs twice a round: as in a lab run (access log, metrics
#    scraped) and bare (lab-loop-bare: neither, as HAProxy runs here).
# 3. CPU per request at the lab's own rates: bench/cmd/rate at each of
#    LOW_RATES (2000/s, bench-flash's cost rate, and 700/s, about one node's
#    share of it in a three-zone stack) for LOW_DURATION, LOW_ROUNDS rounds,
#    the loop front (as in a lab run, and bare), HAProxy and nginx; the
#    proxy's CPU per request, and the loop's over HAProxy's round by round.
#    LOW_RATES="" skips it.
# The lab node is measured with both fronts: the goroutine front alone
# (-front goroutine, LAB_ALB_FRONT=goroutine in a lab run) and the event loop
# (-front loop, the lab's default; LOOP=0 skips it).
# Raw output goes to bench/results/<time>/.
#
# Environment: DURATION (10s), WARMUP (2s), CONNS (64), THREADS (1),
# TP_ROUNDS (5) for part 1,
# LAT_ROUNDS (7), LAT_DURATION (3s), LAT_WARMUP (1s) for part 2,
# RATE (requests/s for part 2; default 50% of the lab's throughput),
# SPLIT=1 adds two loop subjects to part 2, the access log alone and the
# metrics scrape alone, to tell which costs the loop's p99 what,
# PROFILE=1 adds a profiled lab run (not counted) and prints pprof -top,
# RULES ("": none; e.g. "1 10") also runs the lab node with that many
# listener rules in both parts (albnode -rules N: the request for / matches
# only the last rule, after failing each earlier one's path pattern; 0
# rules is the node without rules, as before) and reports each against
# HAProxy and the cost per rule, LOW_RATES (2000 700), LOW_ROUNDS (3) and
# LOW_DURATION (10s) for part 3, PROXY_QUOTA (off; e.g. 50) runs every
# proxy in a cgroup limited to that percentage of one core, so that the
# proxy and not core 1 bounds part 1's throughput, PORT_BASE (18080) moves every port
# (PORT_BASE..PORT_BASE+11) so that two runs on one host do not collide.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
LAT_ROUNDS=${LAT_ROUNDS:-7}
LAT_DURATION=${LAT_DURATION:-3s}
LAT_WARMUP=${LAT_WARMUP:-1s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
PROFILE=${PROFILE:-0}
RATE=${RATE:-}
RULES=${RULES:-}
LOOP=${LOOP:-1}
SPLIT=${SPLIT:-0}
TP_ROUNDS=${TP_ROUNDS:-5}
LOW_RATES=${LOW_RATES-2000 700}
LOW_ROUNDS=${LOW_ROUNDS:-3}
LOW_DURATION=${LOW_DURATION:-10s}
PROXY_QUOTA=${PROXY_QUOTA:-}
PORT_BASE=${PORT_BASE:-18080}
B1=127.0.0.1:$((PORT_BASE + 1))
B2=127.0.0.1:$((PORT_BASE + 2))
LAB_PORT=$PORT_BASE       # the node listens on 127.0.1.1:PORT_BASE (zone 1)
HAP=127.0.0.1:$((PORT_BASE + 10))
NGX=127.0.0.1:$((PORT_BASE + 11))
for n in $RULES; do [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 100 ]] || { echo "bench-alb: RULES: $n is not 1-100" >&2; exit 1; }; done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-alb.XXXXXX")
results="$here/results/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$results"

# PROXY_QUOTA=P: every proxy runs in a CPU cgroup (v1) of its own limited to
# P% of one core (cpu.cfs_quota_us), so that it, not core 1's load tool and
# backends, is what limits part 1's throughput (without it, "direct" to one
# backend has measured about what every proxy does: the figure then says
# more about core 1 than about the proxies).
quota_cg=
if [[ -n $PROXY_QUOTA ]]; then
	[[ $PROXY_QUOTA =~ ^[0-9]+$ && $PROXY_QUOTA -ge 10 && $PROXY_QUOTA -le 100 ]] || { echo "bench-alb: PROXY_QUOTA: $PROXY_QUOTA is not 10-100 (percent of one core)" >&2; exit 1; }
	quota_cg=/sys/fs/cgroup/cpu/bench-alb-$$
	mkdir "$quota_cg" || { echo "bench-alb: PROXY_QUOTA needs the cgroup v1 cpu controller at /sys/fs/cgroup/cpu (as root)" >&2; exit 1; }
	echo 100000 >"$quota_cg/cpu.cfs_period_us"
	echo $((PROXY_QUOTA * 1000)) >"$quota_cg/cpu.cfs_quota_us"
fi
# onproxycore CMD... &: CMD on core 0, in the quota's cgroup when there is
# one (a shell moves itself in, then becomes CMD: its children, nginx's
# workers, start inside). Only in the background: it execs, so that $! is
# CMD's own pid.
onproxycore() {
	if [[ -n $quota_cg ]]; then
		exec bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec taskset -c 0 "$@"' _ "$quota_cg" "$@"
	else
		exec taskset -c 0 "$@"
	fi
}

pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
	if [[ -n $quota_cg ]]; then
		for p in $(cat "$quota_cg/cgroup.procs" 2>/dev/null); do kill "$p" 2>/dev/null || true; done
		for _ in $(seq 50); do rmdir "$quota_cg" 2>/dev/null && break; sleep 0.1; done
	fi
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
if ! command -v haproxy >/dev/null || ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
	say "installing haproxy, nginx and wrk (Debian)"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy nginx wrk >/dev/null
fi
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v taskset >/dev/null || die "taskset (util-linux) is missing"
[[ $(nproc) -ge 2 ]] || die "needs two cores (proxy on core 0, load and backends on core 1)"

for a in $B1 $B2 127.0.1.1:$LAB_PORT $HAP $NGX; do port_free "$a"; done

say "building into $tmp"
(cd "$repo" && CGO_ENABLED=0 go build -o "$tmp/" ./bench/cmd/albnode ./bench/cmd/backend ./bench/cmd/rate ./bench/cmd/scrape)

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

# --- nginx config --------------------------------------------------------
# Upstream keep-alive (nginx's default is HTTP/1.0 and a new connection per
# request, which would skew the comparison), the same X-Forwarded headers.
mkdir -p "$tmp/nginx/logs"
cat >"$tmp/nginx.conf" <<CFG
worker_processes 1;
daemon off;
master_process off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    keepalive_timeout 60s;
    keepalive_requests 1000000;
    upstream be {
        server $B1;
        server $B2;
        keepalive 256;
        keepalive_requests 1000000;
    }
    server {
        listen $NGX;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto http;
            proxy_set_header X-Forwarded-Port ${NGX##*:};
            proxy_connect_timeout 10s;
            proxy_read_timeout 60s;
            proxy_buffering on;
        }
    }
}
CFG
cp "$tmp/nginx.conf" "$results/nginx.conf"
nginx -t -q -p "$tmp/nginx" -c "$tmp/nginx.conf" 2>>"$results/nginx.log" || die "bad nginx config; see $results/nginx.log"

# --- subjects ------------------------------------------------------------
proxy_pid=
scraper=
observe=()
albnode_help=$("$tmp/albnode" -h 2>&1 || true)
if [[ $albnode_help == *-accesslog* ]]; then
	observe=(-accesslog "$tmp/access.log" -metrics)
else # an albnode from before the access log and the endpoint existed
	say "albnode has no access log or metrics endpoint: measuring without them"
fi
# start_lab [extra albnode flags]: with its access log and metrics endpoint
# (scraped once a second on core 1) when albnode has them.
start_lab() {
	: >"$results/albnode.log"
	GOMAXPROCS=1 onproxycore "$tmp/albnode" -port $LAB_PORT -backends "$B1,$B2" \
		"${observe[@]}" "$@" >"$tmp/albnode.out" 2>>"$results/albnode.log" &
	proxy_pid=$!
	pids+=($proxy_pid)
	local i url
	for i in $(seq 300); do
		if grep -q '^ready' "$tmp/albnode.out" 2>/dev/null; then
			if [[ " ${observe[*]} " == *" -metrics "* ]]; then
				url=$(awk '/^metrics /{print $2}' "$results/albnode.log" | tail -1)
				# its stderr line may come after "ready" on stdout
				if [[ -z $url && $i -lt 300 ]]; then sleep 0.1; continue; fi
				[[ -n $url ]] || die "albnode printed no metrics URL"
				# one process, one keep-alive connection, as Prometheus scrapes
				# (a curl a second cost core 1 ~7 ms of process start each)
				GOMAXPROCS=1 taskset -c 1 "$tmp/scrape" -url "$url" -every 1s >>"$results/scrape.log" 2>&1 &
				scraper=$!
				pids+=($scraper)
			fi
			return 0
		fi
		kill -0 $proxy_pid 2>/dev/null || die "albnode exited; see $results/albnode.log"
		sleep 0.1
	done
	die "albnode not ready in 30 s"
}
stop_proxy() {
	if [[ -n $scraper ]]; then stop "$scraper"; scraper=; fi
	stop "$proxy_pid"
	if [[ -f $tmp/access.log ]]; then
		echo "$(wc -l <"$tmp/access.log") access-log lines" >>"$results/albnode.log"
		rm -f "$tmp/access.log"
	fi
}
start_haproxy() {
	onproxycore haproxy -db -f "$tmp/haproxy.cfg" >>"$results/haproxy.log" 2>&1 &
	proxy_pid=$!
	pids+=($proxy_pid)
	wait_port $HAP $proxy_pid || die "HAProxy did not start; see $results/haproxy.log"
}
start_nginx() {
	onproxycore nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" >>"$results/nginx.log" 2>&1 &
	proxy_pid=$!
	pids+=($proxy_pid)
	wait_port $NGX $proxy_pid || die "nginx did not start; see $results/nginx.log"
}

# cpu_ticks PID: user+system clock ticks the process has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# user_ticks PID: user clock ticks alone (the rest is the kernel's: system calls, TCP).
user_ticks() { awk '{print $14}' "/proc/$1/stat"; }

# wrk_run NAME URL: warm up, then measure; raw output in results/NAME.txt,
# proxy CPU (ticks) during the measurement in results/NAME.cpu, its user
# part alone in results/NAME.ucpu (the rest is the kernel's: system calls, TCP).
wrk_run() {
	local name=$1 url=$2 p t0 t1 u0 u1
	taskset -c 1 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >"$results/$name.warmup.txt" &
	p=$!; pids+=($p); wait $p; stop $p
	t0=$( [[ -n $proxy_pid ]] && cpu_ticks "$proxy_pid" || echo 0 )
	u0=$( [[ -n $proxy_pid ]] && user_ticks "$proxy_pid" || echo 0 )
	taskset -c 1 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" >"$results/$name.txt" &
	p=$!; pids+=($p); wait $p || die "wrk failed for $name"; stop $p
	t1=$( [[ -n $proxy_pid ]] && cpu_ticks "$proxy_pid" || echo 0 )
	u1=$( [[ -n $proxy_pid ]] && user_ticks "$proxy_pid" || echo 0 )
	echo $((t1 - t0)) >"$results/$name.cpu"
	echo $((u1 - u0)) >"$results/$name.ucpu"
	say "  $name: $(grep Requests/sec "$results/$name.txt")"
}

# throughput_subject NAME ROUND: one subject's wrk run in one round.
throughput_subject() {
	case $1 in
	lab) start_lab -front goroutine; wrk_run "lab-$2" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	lab-loop) start_lab -front loop; wrk_run "lab-loop-$2" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	lab-rules*) start_lab -front goroutine -rules "${1#lab-rules}"; wrk_run "$1-$2" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	haproxy) start_haproxy; wrk_run "haproxy-$2" "http://$HAP/"; stop_proxy ;;
	nginx) start_nginx; wrk_run "nginx-$2" "http://$NGX/"; stop_proxy ;;
	esac
}
# runs NAME: NAME's wrk outputs, one a round.
runs() {
	local r
	for ((r = 1; r <= TP_ROUNDS; r++)); do echo "$results/$1-$r.txt"; done
}
throughput_subjects=(lab $([[ $LOOP == 1 ]] && echo lab-loop) $(for n in $RULES; do echo "lab-rules$n"; done) haproxy nginx)
say "measuring: wrk -t$THREADS -c$CONNS -d$DURATION --latency (after a $WARMUP warm-up), $TP_ROUNDS rounds, the order rotated each round"
for ((round = 1; round <= TP_ROUNDS; round++)); do
	k=$(((round - 1) % ${#throughput_subjects[@]}))
	for s in "${throughput_subjects[@]:k}" "${throughput_subjects[@]:0:k}"; do throughput_subject "$s" "$round"; done
done
proxy_pid=
wrk_run direct "http://$B1/"

# rate_run NAME URL [RATE DURATION]: a constant rate (RATE) for a duration
# (LAT_DURATION) after a warm-up at the same rate; "requests achieved-rps
# p50-ms p99-ms errors" in results/NAME.rate, and the proxy's CPU ticks
# (user+system) during the measurement in results/NAME.rcpu.
rate_run() {
	local name=$1 url=$2 rate=${3:-$RATE} dur=${4:-$LAT_DURATION} p t0=0 t1=0
	taskset -c 1 "$tmp/rate" -url "$url" -rate "$rate" -duration "$LAT_WARMUP" >/dev/null &
	p=$!; pids+=($p); wait $p || true; stop $p
	[[ -n $proxy_pid ]] && t0=$(cpu_ticks "$proxy_pid")
	taskset -c 1 "$tmp/rate" -url "$url" -rate "$rate" -duration "$dur" >"$results/$name.rate" &
	p=$!; pids+=($p); wait $p || die "the constant-rate client failed for $name"; stop $p
	[[ -n $proxy_pid ]] && t1=$(cpu_ticks "$proxy_pid")
	echo $((t1 - t0)) >"$results/$name.rcpu"
	say "  $name at $rate/s: $(cat "$results/$name.rate"), proxy CPU $((t1 - t0)) ticks"
}

# latency_subject NAME ROUND: one subject's run in one round.
latency_subject() {
	local name=$1 r=$2 n
	case $name in
	lab) start_lab -front goroutine; rate_run "lab-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	lab-loop) start_lab -front loop; rate_run "lab-loop-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	lab-loop-bare) # without the access log and the metrics scrape, as HAProxy runs here
		local keep=("${observe[@]}"); observe=()
		start_lab -front loop; rate_run "lab-loop-bare-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy
		observe=("${keep[@]}") ;;
	lab-loop-log) # the access log alone (SPLIT=1)
		local keep=("${observe[@]}"); observe=(-accesslog "$tmp/access.log")
		start_lab -front loop; rate_run "lab-loop-log-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy
		observe=("${keep[@]}") ;;
	lab-loop-scrape) # the metrics endpoint, scraped once a second, alone (SPLIT=1)
		local keep=("${observe[@]}"); observe=(-metrics)
		start_lab -front loop; rate_run "lab-loop-scrape-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy
		observe=("${keep[@]}") ;;
	lab-rules*) n=${name#lab-rules}; start_lab -front goroutine -rules "$n"; rate_run "lab-rules$n-r$r" "http://127.0.1.1:$LAB_PORT/"; stop_proxy ;;
	haproxy) start_haproxy; rate_run "haproxy-r$r" "http://$HAP/"; stop_proxy ;;
	nginx) start_nginx; rate_run "nginx-r$r" "http://$NGX/"; stop_proxy ;;
	direct) proxy_pid=; rate_run "direct-r$r" "http://$B1/" ;;
	esac
}

if [[ -z $RATE ]]; then
	RATE=$(awk '/Requests\/sec/ { s += $2; n++ } END { printf "%d", s / n / 2 }' $(runs lab))
fi
# This host's latency swings by ten times from one ten-second window to the
# next (other machines share its cores), so one window per subject compares
# the noise, not the subjects: every subject runs once per round, in an
# order rotated each round, and the report gives each subject's median over
# the rounds and the median of the rounds' paired differences.
latency_subjects=(lab $([[ $LOOP == 1 ]] && echo lab-loop lab-loop-bare) $([[ $LOOP == 1 && $SPLIT == 1 ]] && echo lab-loop-log lab-loop-scrape) $(for n in $RULES; do echo "lab-rules$n"; done) haproxy nginx direct)
say "measuring: a constant $RATE requests/s (50% of the lab node's throughput), $LAT_ROUNDS rounds of $LAT_DURATION per subject, the order rotated each round"
for ((r = 1; r <= LAT_ROUNDS; r++)); do
	k=$(((r - 1) % ${#latency_subjects[@]}))
	for s in "${latency_subjects[@]:k}" "${latency_subjects[@]:0:k}"; do latency_subject "$s" "$r"; done
done

# 3. CPU per request at the lab's own rates (LOW_RATES): a lab run's node
# is far from saturated, and a proxy's cost per request there is mostly
# waking up for each request, which wrk's saturating load hides. Each
# subject LOW_ROUNDS times per rate, the order rotated each round.
low_subjects=($([[ $LOOP == 1 ]] && echo lab-loop lab-loop-bare) haproxy nginx)
low_subject() { # NAME RATE ROUND
	case $1 in
	lab-loop) start_lab -front loop; rate_run "low$2-lab-loop-r$3" "http://127.0.1.1:$LAB_PORT/" "$2" "$LOW_DURATION"; stop_proxy ;;
	lab-loop-bare)
		local keep=("${observe[@]}"); observe=()
		start_lab -front loop; rate_run "low$2-lab-loop-bare-r$3" "http://127.0.1.1:$LAB_PORT/" "$2" "$LOW_DURATION"; stop_proxy
		observe=("${keep[@]}") ;;
	haproxy) start_haproxy; rate_run "low$2-haproxy-r$3" "http://$HAP/" "$2" "$LOW_DURATION"; stop_proxy ;;
	nginx) start_nginx; rate_run "low$2-nginx-r$3" "http://$NGX/" "$2" "$LOW_DURATION"; stop_proxy ;;
	esac
}
for lr in $LOW_RATES; do
	say "measuring: CPU per request at a constant $lr requests/s, $LOW_ROUNDS rounds of $LOW_DURATION per subject"
	for ((r = 1; r <= LOW_ROUNDS; r++)); do
		k=$(((r - 1) % ${#low_subjects[@]}))
		for s in "${low_subjects[@]:k}" "${low_subjects[@]:0:k}"; do low_subject "$s" "$lr" "$r"; done
	done
done

if [[ $PROFILE == 1 ]]; then
	say "profiling the lab node (run not counted)"
	start_lab -front goroutine -cpuprofile "$results/albnode.pprof"
	wrk_run lab-profile "http://127.0.1.1:$LAB_PORT/"
	stop_proxy
	go tool pprof -top -nodecount=15 "$tmp/albnode" "$results/albnode.pprof" >"$results/pprof-top.txt" 2>&1 || true
	go tool pprof -top -cum -nodecount=25 "$tmp/albnode" "$results/albnode.pprof" >"$results/pprof-top-cum.txt" 2>&1 || true
	if [[ $LOOP == 1 ]]; then
		say "profiling the lab node's event-loop front (run not counted)"
		start_lab -front loop -cpuprofile "$results/albnode-loop.pprof"
		wrk_run lab-loop-profile "http://127.0.1.1:$LAB_PORT/"
		stop_proxy
		go tool pprof -top -nodecount=15 "$tmp/albnode" "$results/albnode-loop.pprof" >"$results/pprof-loop-top.txt" 2>&1 || true
	fi
	cp "$tmp/albnode" "$results/albnode.bin"
fi

# --- report --------------------------------------------------------------
# summary FILE...: rps p50ms p99ms errors cpu% cpu-us/req for each run.
summary() {
	local f hz secs
	hz=$(getconf CLK_TCK)
	secs=${DURATION%s}
	for f in "$@"; do
		awk -v hz="$hz" -v secs="$secs" -v cpu="$(cat "${f%.txt}.cpu")" -v ucpu="$(cat "${f%.txt}.ucpu" 2>/dev/null || echo -1)" '
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
				printf "%s %.3f %.3f %d %.0f %.1f %.1f\n", rps, p50, p99, err, (cpu > 0 ? 100 * c / secs : -1), (cpu > 0 && n > 0 ? 1e6 * c / n : -1), (cpu > 0 && ucpu >= 0 && n > 0 ? 1e6 * ucpu / hz / n : -1)
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

# each latency subject's median over the rounds, column by column
for s in "${latency_subjects[@]}"; do
	cat "$results/$s"-r*.rate | median >"$results/$s.rate"
done
# paired_p99 A B: the median over the rounds of (A's p99 - B's p99) in
# the same round, and in how many rounds A's was the lower
paired_p99() {
	local r a b
	for ((r = 1; r <= LAT_ROUNDS; r++)); do
		read -r _ _ _ a _ <"$results/$1-r$r.rate"
		read -r _ _ _ b _ <"$results/$2-r$r.rate"
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", a - b }'
	done | sort -g | awk '{ v[NR] = $1; if ($1 < 0) w++ } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%+.3f ms (median of %d rounds; lower in %d of them)", m, NR, w }'
}
# paired_tp A B COLUMN: the median over the throughput rounds of A's
# figure (summary's COLUMN: 1 requests/s, 6 CPU us/req) over B's in the
# same round, and in how many rounds A's was the higher.
paired_tp() {
	local r a b
	for ((r = 1; r <= TP_ROUNDS; r++)); do
		a=$(summary "$results/$1-$r.txt" | cut -d' ' -f"$3")
		b=$(summary "$results/$2-$r.txt" | cut -d' ' -f"$3")
		awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }'
	done | sort -g | awk '{ v[NR] = $1; if ($1 > 1) w++ } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (median of %d rounds; higher in %d of them)", m, NR, w }'
}
mid="mean of 2 runs"
[[ $TP_ROUNDS -gt 2 ]] && mid="median of $TP_ROUNDS runs"
# low_cost RATE SUBJECT: each round's "requests achieved-rps p99-ms
# proxy-cores cpu-us/req" at that rate.
low_cost() {
	local r hz secs
	hz=$(getconf CLK_TCK)
	secs=${LOW_DURATION%s}
	for ((r = 1; r <= LOW_ROUNDS; r++)); do
		read -r n rps _ p99 _ <"$results/low$1-$2-r$r.rate"
		awk -v n="$n" -v rps="$rps" -v p99="$p99" -v t="$(cat "$results/low$1-$2-r$r.rcpu")" -v hz="$hz" -v secs="$secs" \
			'BEGIN { printf "%d %s %s %.4f %.1f\n", n, rps, p99, t / hz / secs, (n > 0 ? 1e6 * t / hz / n : -1) }'
	done
}
# paired_ratio RATE A B: the median over the rounds of A's CPU per request
# over B's in the same round, and in how many rounds A's was the lower.
paired_ratio() {
	paste <(low_cost "$1" "$2") <(low_cost "$1" "$3") | awk '{ print ($10 > 0 ? $5 / $10 : 0) }' | sort -g |
		awk '{ v[NR] = $1; if ($1 < 1) w++ } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (median of %d rounds; lower in %d of them)", m, NR, w }'
}
lab=$(summary $(runs lab) | median)
hap=$(summary $(runs haproxy) | median)
loop=
if [[ $LOOP == 1 ]]; then loop=$(summary $(runs lab-loop) | median); fi
ngx=$(summary $(runs nginx) | median)
dir=$(summary "$results"/direct.txt)

{
	echo "throughput: wrk -t$THREADS -c$CONNS -d$DURATION --latency, HTTP/1.1 keep-alive, $TP_ROUNDS rounds, order rotated; proxy on core 0$([[ -n $PROXY_QUOTA ]] && echo ", limited to $PROXY_QUOTA% of it (PROXY_QUOTA)"), wrk + backends on core 1"
	echo "latency: bench/cmd/rate -rate $RATE -duration $LAT_DURATION, 64 keep-alive connections, open loop (50% of the lab node's throughput); $LAT_ROUNDS rounds, order rotated, medians over rounds"
	if [[ ${#observe[@]} -gt 0 ]]; then
		echo "lab node: health checks every 5 AWS s (10x), access log on, Prometheus endpoint scraped every second"
	else
		echo "lab node: health checks every 5 AWS s (10x); this albnode has no access log or Prometheus endpoint"
	fi
	echo "$(haproxy -v | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(go version | cut -d' ' -f3)"
	echo
	printf '%-22s %12s %10s %10s %7s %10s %12s %12s\n' subject "requests/s" "p50 ms" "p99 ms" errors "proxy CPU" "CPU us/req" "user us/req"
	row() {
		read -r rps p50 p99 err cpu per user <<<"$2"
		[[ $cpu == -1 ]] && cpu=- || cpu="$cpu%"
		[[ $per == -1* ]] && per=-
		[[ ${user:--1} == -1* ]] && user=-
		printf '%-22s %12.0f %10.3f %10.3f %7d %10s %12s %12s\n' "$1" "$rps" "$p50" "$p99" "$err" "$cpu" "$per" "$user"
	}
	for ((r = 1; r <= TP_ROUNDS; r++)); do row "lab goroutine front, run $r" "$(summary "$results/lab-$r.txt")"; done
	if [[ $LOOP == 1 ]]; then
		for ((r = 1; r <= TP_ROUNDS; r++)); do row "lab loop front, run $r" "$(summary "$results/lab-loop-$r.txt")"; done
	fi
	for ((r = 1; r <= TP_ROUNDS; r++)); do row "HAProxy 1 thread, run $r" "$(summary "$results/haproxy-$r.txt")"; done
	for ((r = 1; r <= TP_ROUNDS; r++)); do row "nginx 1 worker, run $r" "$(summary "$results/nginx-$r.txt")"; done
	for n in $RULES; do
		for ((r = 1; r <= TP_ROUNDS; r++)); do row "lab, $n rules, run $r" "$(summary "$results/lab-rules$n-$r.txt")"; done
	done
	row "lab goroutine front ($mid)" "$lab"
	if [[ $LOOP == 1 ]]; then row "lab loop front ($mid)" "$loop"; fi
	for n in $RULES; do row "lab, $n rules ($mid)" "$(summary $(runs "lab-rules$n") | median)"; done
	row "HAProxy ($mid)" "$hap"
	row "nginx ($mid)" "$ngx"
	row "direct (one backend)" "$dir"
	echo
	printf 'at a constant %s requests/s (open loop, latency from when each request was due; each figure the median of %s rounds):\n' "$RATE" "$LAT_ROUNDS"
	printf '%-22s %12s %10s %10s %7s\n' subject "achieved/s" "p50 ms" "p99 ms" errors
	for s in "${latency_subjects[@]}"; do
		read -r n rps p50 p99 err <"$results/$s.rate"
		printf '%-22s %12.0f %10.3f %10.3f %7d\n' "$s" "$rps" "$p50" "$p99" "$err"
	done
	echo
	awk -v l="${lab%% *}" -v h="${hap%% *}" -v n="${ngx%% *}" -v d="${dir%% *}" 'BEGIN {
		printf "goroutine front / HAProxy = %.2f\n", l / h
		printf "goroutine front / nginx   = %.2f\n", l / n
		printf "HAProxy / direct  = %.2f\n", h / d
		printf "nginx / direct    = %.2f\n", n / d
		printf "goroutine front / direct  = %.2f\n", l / d
	}'
	# the issue's goal, same run: CPU per request at or below HAProxy's,
	# throughput at least HAProxy's, p99 at the fixed load within 1 ms of HAProxy's
	read -r _ _ lp99 _ <<<"$(cut -d' ' -f2- "$results/lab.rate")"
	read -r _ _ hp99 _ <<<"$(cut -d' ' -f2- "$results/haproxy.rate")"
	awk -v lc="$(cut -d' ' -f6 <<<"$lab")" -v hc="$(cut -d' ' -f6 <<<"$hap")" -v lp="$lp99" -v hp="$hp99" 'BEGIN {
		if (lc > 0 && hc > 0) printf "goroutine front / HAProxy CPU per request = %.2f\n", lc / hc
		printf "goroutine front p99 - HAProxy p99 at %s/s = %+.3f ms (medians)\n", "'"$RATE"'", lp - hp
	}'
	echo "goroutine front p99 - HAProxy p99, round by round: $(paired_p99 lab haproxy)"
	# the event-loop front against HAProxy and against the goroutine front,
	# same run (the issue's three goals)
	if [[ $LOOP == 1 ]]; then
		read -r _ _ op99 _ <<<"$(cut -d' ' -f2- "$results/lab-loop.rate")"
		awk -v o="${loop%% *}" -v l="${lab%% *}" -v h="${hap%% *}" -v oc="$(cut -d' ' -f6 <<<"$loop")" -v lc="$(cut -d' ' -f6 <<<"$lab")" -v hc="$(cut -d' ' -f6 <<<"$hap")" -v op="$op99" -v lp="$lp99" -v hp="$hp99" 'BEGIN {
			printf "loop front / HAProxy = %.2f (throughput), %.2f (CPU per request); p99 at %s/s %+.3f ms against HAProxy\n", o / h, (hc > 0 ? oc / hc : -1), "'"$RATE"'", op - hp
			printf "loop front / goroutine front = %.2f (throughput), %.2f (CPU per request); p99 at %s/s %+.3f ms against it\n", o / l, (lc > 0 ? oc / lc : -1), "'"$RATE"'", op - lp
		}'
		echo "loop front / HAProxy, round by round: $(paired_tp lab-loop haproxy 1) (throughput), $(paired_tp lab-loop haproxy 6) (CPU per request)"
		echo "loop front p99 - HAProxy p99, round by round: $(paired_p99 lab-loop haproxy)"
		echo "loop front without access log and metrics scrape (as HAProxy runs here) p99 - HAProxy p99, round by round: $(paired_p99 lab-loop-bare haproxy)"
		if [[ $SPLIT == 1 ]]; then
			echo "what the loop's p99 pays for, against the bare loop, round by round: both $(paired_p99 lab-loop lab-loop-bare); the access log alone $(paired_p99 lab-loop-log lab-loop-bare); the metrics scrape alone $(paired_p99 lab-loop-scrape lab-loop-bare)"
		fi
	fi
	# listener rules: each count against HAProxy in this run, and what
	# each rule costs against the node without rules (throughput lost per
	# rule, CPU per request added per rule)
	for n in $RULES; do
		rl=$(summary $(runs "lab-rules$n") | median)
		read -r _ _ rp99 _ <<<"$(cut -d' ' -f2- "$results/lab-rules$n.rate")"
		awk -v n="$n" -v r="${rl%% *}" -v l="${lab%% *}" -v h="${hap%% *}" -v rc="$(cut -d' ' -f6 <<<"$rl")" -v lc="$(cut -d' ' -f6 <<<"$lab")" -v hc="$(cut -d' ' -f6 <<<"$hap")" -v rp="$rp99" -v hp="$hp99" 'BEGIN {
			printf "lab %d rules / HAProxy = %.2f (throughput), %.2f (CPU per request); p99 at %s/s %+.3f ms against HAProxy\n", n, r / h, (hc > 0 ? rc / hc : -1), "'"$RATE"'", rp - hp
			printf "  per rule: throughput %+.2f%% of the node without rules, CPU %+.0f ns per request\n", 100 * (r - l) / l / n, 1000 * (rc - lc) / n
		}'
	done
	if [[ -n $LOW_RATES ]]; then
		echo
		echo "CPU per request at the lab's own rates (bench/cmd/rate, 64 connections, $LOW_DURATION a round; proxy CPU = user+system ticks of $(getconf CLK_TCK)/s during the measurement; each figure the median of $LOW_ROUNDS rounds):"
		printf '%-22s %8s %12s %10s %10s %12s\n' subject "rate/s" "achieved/s" "p99 ms" "proxy CPU" "CPU us/req"
		for lr in $LOW_RATES; do
			for s in "${low_subjects[@]}"; do
				low_cost "$lr" "$s" | median | {
					read -r n rps p99 cores us
					printf '%-22s %8s %12.0f %10.3f %9.1f%% %12.1f\n' "$s" "$lr" "$rps" "$p99" "$(awk -v c="$cores" 'BEGIN { print 100 * c }')" "$us"
				}
			done
			if [[ $LOOP == 1 ]]; then
				echo "  at $lr/s: loop front / HAProxy CPU per request, round by round: $(paired_ratio "$lr" lab-loop haproxy); bare loop / HAProxy: $(paired_ratio "$lr" lab-loop-bare haproxy)"
			fi
		done
	fi
	if [[ -f $results/pprof-top.txt ]]; then
		echo
		echo "lab node CPU profile (profiled run: $(summary "$results/lab-profile.txt" | cut -d' ' -f1) requests/s):"
		cat "$results/pprof-top.txt"
	fi
	if [[ -f $results/pprof-loop-top.txt ]]; then
		echo
		echo "lab node, event-loop front, CPU profile (profiled run: $(summary "$results/lab-loop-profile.txt" | cut -d' ' -f1) requests/s):"
		cat "$results/pprof-loop-top.txt"
	fi
	echo
	echo "raw output: $results"
} | tee "$results/summary.txt"
