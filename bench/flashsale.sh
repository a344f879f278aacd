#!/usr/bin/env bash
# bench/flashsale.sh (make bench-flash): what the whole lab sustains on this
# machine, measured with `lab run` on real processes, one run at a time.
#
#   1. pacer   - the load generator's accuracy through the ALB: 3 x c5.xlarge
#                instances (min = max = desired, so no scaling), SimplyDone
#                with no CPU cost, 1 AWS minute ramp 0 -> PACER_RATE then 3
#                AWS minutes at PACER_RATE (real requests per wall second).
#   2. capacity - the highest flash-sale peak with success >= 99.9% and a
#                valid run (not INVALID), SimplyDone's default 2 ms CPU cost
#                and the built-in scaling policies; once on the built-in stack
#                (t3.micro, max 6) and once with instance_type c5.large.
#                A ladder of peaks, stopping at the first that fails, then
#                BISECT bisection steps between the last pass and that fail.
#                A third search, t3s, runs the built-in stack at capacity_scale
#                CAP_SCALE (every instance's share and every request's CPU cost
#                scaled by it, as flash-sale-10k does).
#   3. builtin - the built-in scenarios instance-kill and maintenance-reboot.
#   4. cost    - the lab's own CPU per request (issue 17 item 5): the pacer's
#                zero-cost stack (3 x PACER_TYPE, SIMPLYDONE_CPU_COST 0s), a
#                30 AWS s ramp then COST_STEADY at each of COST_RATES. The
#                lab process's own CPU (utime+stime of /proc/<lab>/stat, not
#                its children's: the load generator, the ALB nodes, DNS,
#                metrics and the journal all run in it; the instances are its
#                child processes) is read every wall second by the run itself
#                (host.jsonl's "lab"), and divided by the requests sent in the
#                same seconds (seconds.jsonl), over the steady phase less its
#                first 2 and last second. Once more with the TUI on a real
#                terminal (tmux) at the highest rate when tmux is installed.
#                Then its peers at the highest rate (COST_PEERS): the lab's
#                load generator alone and a plain vegeta attack of the same
#                requests, each straight to one zero-cost instance: what part
#                of the lab's cost any vegeta-based generator of this traffic
#                pays on this host.
#   5. users   - the highest valid peak in concurrent users (the closed model
#                of flash-sale-10k: think_time USERS_THINK, each user waits
#                for its answer) on the built-in stack at each of USERS_SCALES
#                (capacity_scale), a ladder USERS_LADDER stopping at the first
#                that fails: calm 1m at 100 users, rise 4m, peak USERS_PEAK,
#                after 2m at 100, at speed USERS_SPEED.
#
# At the end one SUMMARY table gives each headline figure with the command
# that reproduces it.
#
# Stacks are derived from stack/builtin/simplydone.yaml with sed, so they
# follow it. Everything a run writes (summary.json, events.jsonl, logs, and
# the console as console.log) stays under bench/results/flash-<time>/.
#
# Environment:
#   STAGES      which parts to run (default "pacer cost capacity users builtin")
#   RUN_FLAGS   flags given to every lab run (e.g. --agents-in-process=false:
#               the zones as the lab's own, not on agents in its process)
#   SPEED       scaled clock for pacer and capacity runs (10)
#   PACER_RATE  steady rate of the pacer run (2000)
#   PACER_TYPE  instance type of the pacer run (c5.xlarge)
#   LADDER_T3   peaks tried on the built-in t3.micro stack (150 250 350 500 700 1000)
#   LADDER_C5   peaks tried on the c5.large stack (350 500 700 1000 1400 2000)
#   C5_TYPE     instance type of the larger variant (c5.large)
#   C5_MIN      its min_size (1, as built in; its desired stays 2). With 1, calm
#               traffic (20 rps) leaves a c5.large under 10% CPU and cpu-low
#               scales in to 1 before the sale; C5_MIN=2 keeps two
#   CAP_STACKS  which capacity searches to run (t3 t3s c5)
#   CAP_SCALE   capacity_scale of the t3s search (0.5)
#   LADDER_T3S  peaks tried on it (250 350 500 700 1000 1400)
#   PEAK        AWS duration of the peak phase (8m); TAIL the tail (3m)
#   BISECT      bisection steps after the first failing peak (1)
#   BUDGET      wall seconds after which capacity search stops bisecting (1200)
#   COST_RATES  rates of the cost runs, requests per wall second (500 2000)
#   COST_STEADY AWS duration of their steady phase (5m)
#   COST_TUI    1 to run the highest rate once more with the TUI in tmux (1)
#   COST_GOAL   the goal in microseconds of lab CPU per request (60)
#   COST_PEERS  1 to measure, at the highest cost rate, the lab's load
#               generator alone and a plain vegeta attack of the same
#               requests, each straight to one zero-cost SimplyDone
#               (bench/cmd/loadcost; 1);
#               COST_PEER_ROUNDS rounds of 20 s (3)
#   USERS_LADDER peaks in users (2500 5000 10000); USERS_SCALES (1 0.5)
#   USERS_SPEED (3), USERS_THINK (180s, AWS), USERS_PEAK (4m, AWS)
set -uo pipefail

STAGES=${STAGES:-pacer cost capacity users builtin}
SPEED=${SPEED:-10}
PACER_RATE=${PACER_RATE:-2000}
PACER_TYPE=${PACER_TYPE:-c5.xlarge}
LADDER_T3=${LADDER_T3:-150 250 350 500 700 1000}
LADDER_C5=${LADDER_C5:-350 500 700 1000 1400 2000}
C5_TYPE=${C5_TYPE:-c5.large}
C5_MIN=${C5_MIN:-1}
CAP_STACKS=${CAP_STACKS:-t3 t3s c5}
CAP_SCALE=${CAP_SCALE:-0.5}
LADDER_T3S=${LADDER_T3S:-250 350 500 700 1000 1400}
USERS_LADDER=${USERS_LADDER:-2500 5000 10000}
USERS_SCALES=${USERS_SCALES:-1 0.5}
USERS_SPEED=${USERS_SPEED:-3}
USERS_THINK=${USERS_THINK:-180s}
USERS_PEAK=${USERS_PEAK:-4m}
PEAK=${PEAK:-8m}
TAIL=${TAIL:-3m}
BISECT=${BISECT:-1}
BUDGET=${BUDGET:-1200}
COST_RATES=${COST_RATES:-500 2000}
COST_STEADY=${COST_STEADY:-5m}
COST_TUI=${COST_TUI:-1}
COST_GOAL=${COST_GOAL:-60}
COST_PEERS=${COST_PEERS:-1}
COST_PEER_ROUNDS=${COST_PEER_ROUNDS:-3}
SUCCESS_MIN=99.9

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
results="$here/results/flash-$(date +%Y%m%d-%H%M%S)"
gen="$results/files"   # generated stacks and scenarios, kept with the results
mkdir -p "$gen" "$results/runs"
lab="$repo/bin/lab"
t0=$(date +%s)

say() { printf '== %s\n' "$*" >&2; }

if ! command -v jq >/dev/null; then
	say "installing jq (Debian)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null
fi
(cd "$repo" && make -s build) || exit 1

# ---- stacks ---------------------------------------------------------------

builtin_stack="$repo/stack/builtin/simplydone.yaml"

# derive NAME TYPE COST MIN DESIRED MAX: a copy of the built-in stack.
derive() {
	sed -e "s/^name: simplydone$/name: $1/" \
		-e "s/instance_type: t3.micro/instance_type: $2/" \
		-e "s/SIMPLYDONE_CPU_COST: 2ms/SIMPLYDONE_CPU_COST: $3/" \
		-e "s/min_size: 1$/min_size: $4/" \
		-e "s/desired_capacity: 2$/desired_capacity: $5/" \
		-e "s/max_size: 6$/max_size: $6/" \
		"$builtin_stack" >"$gen/$1.yaml"
	# every substitution must have happened
	grep -q "^name: $1$" "$gen/$1.yaml" && grep -q "instance_type: $2$" "$gen/$1.yaml" &&
		grep -q "SIMPLYDONE_CPU_COST: $3}" "$gen/$1.yaml" && grep -q "min_size: $4$" "$gen/$1.yaml" &&
		grep -q "desired_capacity: $5$" "$gen/$1.yaml" && grep -q "max_size: $6$" "$gen/$1.yaml" ||
		{ say "could not derive $1 from $builtin_stack (has it changed?)"; exit 1; }
	"$lab" validate "$gen/$1.yaml" >/dev/null || exit 1
}

# ---- runs -----------------------------------------------------------------

# run LABEL SCENARIO: one lab run; prints the run directory (empty if none).
run() {
	local label=$1 sc=$2 before after dir rc
	before=$(ls "$results/runs")
	say "$(date +%T) run $label"
	# shellcheck disable=SC2086 # RUN_FLAGS is a list of flags
	"$lab" run "$sc" --out "$results/runs" ${RUN_FLAGS:-} >"$results/$label.console.log" 2>&1
	rc=$?
	after=$(ls "$results/runs")
	dir=$(comm -13 <(echo "$before") <(echo "$after") | tail -1)
	if [ -z "$dir" ] || [ ! -f "$results/runs/$dir/summary.json" ]; then
		say "run $label: no summary (exit $rc); see $results/$label.console.log"
		tail -5 "$results/$label.console.log" >&2
		echo ""
		return
	fi
	cp "$results/$label.console.log" "$results/runs/$dir/console.log"
	say "run $label: $(jq -r '"\(.verdict) success \(.success_rate*100|floor/100)% offered \(.offered_rps|floor)/s achieved \(.achieved_rps|floor)/s lag p99 \(.lag_p99_ms) ms"' "$results/runs/$dir/summary.json") (exit $rc)"
	echo "$results/runs/$dir"
}

# field DIR JQ
field() { jq -r "$2" "$1/summary.json"; }

tables=()   # printed together at the end
summary=()  # the SUMMARY table's rows: measure, result, command
sumrow() { summary+=("$(printf '%-44s %-46s %s' "$1" "$2" "$3")"); }

# ---- 1. pacer -------------------------------------------------------------

pacer() {
	derive pacer "$PACER_TYPE" 0s 3 3 3
	cat >"$gen/pacer.scenario.yaml" <<-EOF
	name: pacer
	description: Pacer accuracy through the ALB; no CPU cost, no scaling.
	stack: pacer.yaml
	speed: $SPEED
	seed: 1
	load:
	  mix: {list: 50, create: 20, get: 20, done: 10}
	  phases:
	    - {name: ramp, duration: 1m, from: 0, to: $PACER_RATE}
	    - {name: steady, duration: 3m, rate: $PACER_RATE}
	slos:
	  - requests >= 1
	EOF
	local d; d=$(run pacer "$gen/pacer.scenario.yaml")
	[ -n "$d" ] || { tables+=("pacer: no summary"); sumrow "pacer accuracy" "no summary" ""; return; }
	# summary.json has whole-run rates only; the steady part is estimated from
	# the console's stats lines (each one wall second, every 5 s) at AWS
	# times after the ramp (+01:10 .. +04:00).
	local steady
	steady=$(awk '/stats: offered/ {
			split($1, t, ":"); s = substr(t[1], 2) * 60 + t[2]
			if (s < 70 || s > 240) next
			for (i = 1; i <= NF; i++) { if ($i == "offered") o += $(i + 1) + 0; if ($i == "sent") a += $(i + 1) + 0 }
			n++ }
		END { if (n && o) printf "%.4f (%d samples, sent %d of %.0f offered)", a / o, n, a, o; else print "n/a" }' \
		"$d/console.log")
	local t
	t=$(printf '%-34s %s\n' \
		"run" "$(basename "$d")" \
		"stack" "3 x $PACER_TYPE, SIMPLYDONE_CPU_COST 0s" \
		"verdict" "$(field "$d" .verdict)" \
		"offered_rps (whole run)" "$(field "$d" '.offered_rps*10|round/10')" \
		"achieved_rps (whole run)" "$(field "$d" '.achieved_rps*10|round/10')" \
		"achieved/offered (whole run)" "$(field "$d" 'if .offered_rps > 0 then (.achieved_rps/.offered_rps*10000|round/10000) else "n/a" end')" \
		"achieved/offered (steady, sampled)" "$steady" \
		"lag_p99_ms" "$(field "$d" '.lag_p99_ms*100|round/100')" \
		"success_rate %" "$(field "$d" '.success_rate*100|floor/100')" \
		"latency p50/p99/max ms" "$(field "$d" '[.latency_ms.p50, .latency_ms.p99, .latency_ms.max] | map(.*10|round/10|tostring) | join("/")')" \
		"invalid" "$(field "$d" .invalid)")
	tables+=("PACER ($PACER_RATE rps steady at speed $SPEED; target achieved/offered >= 0.99)
$t")
	sumrow "pacer accuracy (achieved/offered, steady)" "${steady%% (*} at $PACER_RATE rps, lag p99 $(field "$d" '.lag_p99_ms|round') ms" \
		"STAGES=pacer SPEED=$SPEED PACER_RATE=$PACER_RATE bash bench/flashsale.sh"
}

# ---- 2. capacity ----------------------------------------------------------

# flash NAME STACKFILE PEAK [SCALE]: the flash-sale load shape with the
# given peak, at capacity_scale SCALE (1).
flash() {
	local f="$gen/${1//\//-}-$3.scenario.yaml"
	cat >"$f" <<-EOF
	name: flash-${1//\//-}-$3
	description: The flash-sale load shape with a peak of $3 requests/s (no chaos).
	stack: $2
	speed: $SPEED
	seed: 42
	max_lag: 250ms
	capacity_scale: ${4:-1}
	load:
	  mix: {list: 50, create: 20, get: 20, done: 10}
	  phases:
	    - {name: calm, duration: 2m, rate: 20}
	    - {name: rise, duration: 2m, from: 20, to: $3}
	    - {name: peak, duration: $PEAK, rate: $3}
	    - {name: after, duration: $TAIL, rate: 10}
	slos:
	  - success_rate >= $SUCCESS_MIN%
	  - lost_writes == 0
	stop_conditions:
	  - success_rate < 50%
	EOF
	echo "$f"
}

cap_rows=()
cap_best=()

# try NAME STACK PEAK: one capacity run; returns 0 when it sustained the peak.
# The scale of the run is try_scale (1); a users ladder sets try_kind=users.
try_scale=1
try_kind=rps
try() {
	local d ok=1 sc
	if [ "$try_kind" = users ]; then sc=$(userscenario "$1" "$2" "$3" "$try_scale"); else sc=$(flash "$1" "$2" "$3" "$try_scale"); fi
	d=$(run "cap-${1//\//-}-$3" "$sc")
	if [ -z "$d" ]; then
		cap_rows+=("$(printf '%-14s %6s  %-8s %s' "$1" "$3" "-" "no summary")")
		return 1
	fi
	if [ "$(field "$d" '.verdict != "INVALID" and (.invalid|not) and .success_rate >= '"$SUCCESS_MIN")" = true ]; then ok=0; fi
	cap_rows+=("$(printf '%-14s %6s  %-8s %8s %5s %9s %9s %8s %7s %6s %-9s %s' "$1" "$3" \
		"$(field "$d" .verdict)" "$(field "$d" '.success_rate*100|floor/100')" "$(field "$d" .invalid)" \
		"$(field "$d" '.achieved_rps*10|round/10')" "$(field "$d" '.lag_p99_ms*10|round/10')" "$(field "$d" '.latency_ms.p99|round')" \
		"$(field "$d" '"\(.errors.http_5xx)/\(.errors.transport)"')" "$(field "$d" '"\(.in_service.min)-\(.in_service.max)"')" \
		"$([ $ok = 0 ] && echo sustained || echo FAILED)" "$(basename "$d")")")
	return $ok
}

# search NAME STACK LADDER...
search() {
	local name=$1 stk=$2; shift 2
	local lo=0 hi=0 p
	for p in "$@"; do
		if try "$name" "$stk" "$p"; then lo=$p; else hi=$p; break; fi
	done
	local i=0 mid
	while [ "$hi" -gt 0 ] && [ "$i" -lt "$BISECT" ] && [ $(($(date +%s) - t0)) -lt "$BUDGET" ]; do
		mid=$(((lo + hi) / 20 * 10))
		[ "$mid" -gt "$lo" ] && [ "$mid" -lt "$hi" ] || break
		if try "$name" "$stk" "$mid"; then lo=$mid; else hi=$mid; fi
		i=$((i + 1))
	done
	local u=$try_kind
	if [ "$hi" -eq 0 ]; then
		search_best="$(printf '>= %s %s (every peak tried passed)' "$lo" "$u")"
	elif [ "$lo" -eq 0 ]; then
		search_best="$(printf '<  %s %s (the lowest peak tried failed)' "$hi" "$u")"
	else
		search_best="$(printf '%s %s sustained, %s %s not' "$lo" "$u" "$hi" "$u")"
	fi
	cap_best+=("$(printf '%-14s %s' "$name" "$search_best")")
}

capacity() {
	local rows0=${#cap_rows[@]} best0=${#cap_best[@]}
	cp "$builtin_stack" "$gen/builtin.yaml"
	derive c5 "$C5_TYPE" 2ms "$C5_MIN" 2 6
	local c5name=$C5_TYPE
	[ "$C5_MIN" = 1 ] || c5name="$C5_TYPE/min$C5_MIN"
	# shellcheck disable=SC2086
	case " $CAP_STACKS " in *" t3 "*) search t3.micro builtin.yaml $LADDER_T3
		sumrow "highest valid peak, rps (built-in, unscaled)" "$search_best" \
			"STAGES=capacity CAP_STACKS=t3 SPEED=$SPEED PEAK=$PEAK TAIL=$TAIL BISECT=$BISECT LADDER_T3='$LADDER_T3' bash bench/flashsale.sh" ;; esac
	# shellcheck disable=SC2086
	case " $CAP_STACKS " in *" t3s "*) try_scale=$CAP_SCALE; search "t3.micro/x$CAP_SCALE" builtin.yaml $LADDER_T3S; try_scale=1
		sumrow "highest valid peak, rps (built-in, x$CAP_SCALE)" "$search_best" \
			"STAGES=capacity CAP_STACKS=t3s CAP_SCALE=$CAP_SCALE SPEED=$SPEED PEAK=$PEAK TAIL=$TAIL BISECT=$BISECT LADDER_T3S='$LADDER_T3S' bash bench/flashsale.sh" ;; esac
	# shellcheck disable=SC2086
	case " $CAP_STACKS " in *" c5 "*) search "$c5name" c5.yaml $LADDER_C5 ;; esac
	local t
	t=$(printf '%-14s %6s  %-8s %8s %5s %9s %9s %8s %7s %6s %-9s %s\n' \
		stack peak verdict success% inval achieved lag_p99ms p99_ms 5xx/tr in_svc result run
		printf '%s\n' "${cap_rows[@]:$rows0}")
	tables+=("CAPACITY (flash-sale shape: calm 2m at 20, rise 2m, peak $PEAK, after $TAIL at 10; speed $SPEED; default 2 ms CPU cost; built-in scaling; no chaos; pass = success >= $SUCCESS_MIN% and not INVALID)
$t

highest sustained peak:
$(printf '%s\n' "${cap_best[@]:$best0}")")
}

# ---- 3. built-in scenarios ------------------------------------------------

builtin() {
	local s d t="" rows=()
	for s in instance-kill maintenance-reboot; do
		local before after
		before=$(ls "$results/runs")
		say "$(date +%T) run $s"
		"$lab" run "$s" --out "$results/runs" >"$results/$s.console.log" 2>&1
		after=$(ls "$results/runs")
		d=$(comm -13 <(echo "$before") <(echo "$after") | tail -1)
		if [ -z "$d" ]; then rows+=("$(printf '%-20s %s' "$s" "no summary")"); continue; fi
		d="$results/runs/$d"
		cp "$results/$s.console.log" "$d/console.log"
		rows+=("$(printf '%-20s %-8s %8s %8s %7s %6s %7s %6s %s' "$s" "$(field "$d" .verdict)" "$(field "$d" '.success_rate*100|floor/100')" \
			"$(field "$d" '.latency_ms.p99*10|round/10')" "$(field "$d" '"\(.errors.http_5xx)/\(.errors.transport)"')" \
			"$(field "$d" '"\(.in_service.min)-\(.in_service.max)"')" "$(field "$d" '"\(.faults.injected)/\(.faults.reverted)"')" \
			"$(field "$d" .lost_writes)" "$(basename "$d")")")
	done
	t=$(printf '%-20s %-8s %8s %8s %7s %6s %7s %6s %s\n' scenario verdict success% p99_ms 5xx/tr in_svc faults lost run
		printf '%s\n' "${rows[@]}")
	tables+=("BUILT-IN SCENARIOS (full summaries: bench/results/.../<scenario>.console.log)
$t")
}

# ---- 5. users ---------------------------------------------------------------

# userscenario NAME STACKFILE USERS SCALE: flash-sale-10k's closed model on
# STACKFILE with a peak of USERS concurrent users, at capacity_scale SCALE.
userscenario() {
	local f="$gen/users-${1//\//-}-$3.scenario.yaml"
	cat >"$f" <<-EOF
	name: users-${1//\//-}-$3
	description: The flash sale in users (closed model) with a peak of $3 users (no chaos).
	stack: $2
	speed: $USERS_SPEED
	seed: 42
	max_lag: 250ms
	capacity_scale: $4
	load:
	  mix: {list: 50, create: 20, get: 20, done: 10}
	  think_time: $USERS_THINK
	  phases:
	    - {name: calm, duration: 1m, users: 100}
	    - {name: rise, duration: 4m, users: {from: 100, to: $3}}
	    - {name: peak, duration: $USERS_PEAK, users: $3}
	    - {name: after, duration: 2m, users: 100}
	slos:
	  - success_rate >= $SUCCESS_MIN%
	  - lost_writes == 0
	stop_conditions:
	  - success_rate < 50%
	EOF
	echo "$f"
}

users() {
	[ -f "$gen/builtin.yaml" ] || cp "$builtin_stack" "$gen/builtin.yaml"
	local x rows0=${#cap_rows[@]} best0=${#cap_best[@]}
	try_kind=users
	for x in $USERS_SCALES; do
		try_scale=$x
		# shellcheck disable=SC2086
		search "users/x$x" builtin.yaml $USERS_LADDER
		sumrow "highest valid peak, users (built-in, x$x)" "$search_best" \
			"STAGES=users USERS_SCALES=$x USERS_SPEED=$USERS_SPEED USERS_THINK=$USERS_THINK USERS_PEAK=$USERS_PEAK USERS_LADDER='$USERS_LADDER' BISECT=$BISECT bash bench/flashsale.sh"
	done
	try_kind=rps try_scale=1
	local t
	t=$(printf '%-14s %6s  %-8s %8s %5s %9s %9s %8s %7s %6s %-9s %s\n' \
		stack users verdict success% inval achieved lag_p99ms p99_ms 5xx/tr in_svc result run
		printf '%s\n' "${cap_rows[@]:$rows0}")
	tables+=("USERS (closed model as flash-sale-10k: think $USERS_THINK; calm 1m at 100 users, rise 4m, peak $USERS_PEAK, after 2m at 100; speed $USERS_SPEED; built-in stack and scaling; no chaos; pass = success >= $SUCCESS_MIN% and not INVALID)
$t

highest sustained peak:
$(printf '%s\n' "${cap_best[@]:$best0}")")
}

# ---- 4. the lab's own cost per request --------------------------------------

# costof DIR: the lab's own CPU over the steady seconds (less the first 2 and
# the last), from host.jsonl (the lab's utime+stime per wall second) and
# seconds.jsonl (requests sent per wall second), as JSON. Only the seconds
# host.jsonl has count, in both: a second its sampler could not read (a lab
# out of file descriptors cannot open /proc/stat) has no lab CPU to divide.
costof() {
	[ -s "$1/host.jsonl" ] && [ -s "$1/seconds.jsonl" ] || { echo null; return; }
	jq -cn --slurpfile s "$1/seconds.jsonl" --slurpfile h "$1/host.jsonl" '
		([$s[] | select(.phase == "steady") | .second] | sort | .[2:-1]) as $w
		| if ($w | length) < 3 then null else
		($w | min) as $a | ($w | max) as $b
		| [$h[] | select(.second >= $a and .second <= $b)] as $hs
		| ($hs | map(.second)) as $hsec
		| ([$s[] | select(.second as $x | $hsec | index([$x])) | .sent] | add // 0) as $sent
		| ($hs | map(.lab) | add) as $lab
		| {seconds: ($b - $a + 1), host_seconds: ($hs | length), sent: $sent, lab_s: $lab,
		   procs: ($hs | map(.lab_procs // 0) | max),
		   rps: (if ($hs | length) > 0 then $sent / ($hs | length) else 0 end), us: (if $sent > 0 then $lab / $sent * 1e6 else null end),
		   lab_cores: ($lab / ($hs | length)), cpus: ($hs[0].cpus // 0),
		   used: ($hs | map(.used) | add / length), busy: ($hs | map(.host_busy) | add / length),
		   other: ($hs | map(.other) | add / length)} end'
}

# costscenario RATE: the zero-cost flash sale at RATE.
costscenario() {
	local f="$gen/cost-$1.scenario.yaml"
	cat >"$f" <<-EOF
	name: cost-$1
	description: The lab's own CPU per request at $1 requests/s; instances with no CPU cost, no scaling.
	stack: cost.yaml
	speed: $SPEED
	seed: 1
	load:
	  mix: {list: 50, create: 20, get: 20, done: 10}
	  phases:
	    - {name: ramp, duration: 30s, from: 0, to: $1}
	    - {name: steady, duration: $COST_STEADY, rate: $1}
	slos:
	  - requests >= 1
	EOF
	echo "$f"
}

# tuirun LABEL SCENARIO: as run, with the TUI on a 160x48 tmux terminal.
tuirun() {
	local label=$1 sc=$2 before after dir i sock="bench-flash-$$" rcf
	rcf="$results/$label.rc"
	before=$(ls "$results/runs")
	say "$(date +%T) run $label (TUI in tmux)"
	tmux -L "$sock" new-session -d -x 160 -y 48 -s lab sh -c \
		"'$lab' run '$sc' --out '$results/runs' ${RUN_FLAGS:-} >'$results/$label.tty' 2>'$results/$label.console.log'; echo \$? >'$rcf'; sleep 600"
	# the TUI stays up after the run until q: wait for the summary, then quit
	for i in $(seq 1 1800); do
		dir=$(comm -13 <(echo "$before") <(ls "$results/runs") | tail -1)
		[ -n "$dir" ] && [ -f "$results/runs/$dir/summary.json" ] && break
		sleep 1
	done
	for i in $(seq 1 30); do [ -f "$rcf" ] && break; tmux -L "$sock" send-keys -t lab q 2>/dev/null; sleep 1; done
	tmux -L "$sock" kill-server 2>/dev/null
	after=$(ls "$results/runs")
	dir=$(comm -13 <(echo "$before") <(echo "$after") | tail -1)
	if [ -z "$dir" ] || [ ! -f "$results/runs/$dir/summary.json" ]; then
		say "run $label: no summary; see $results/$label.console.log"
		echo ""
		return
	fi
	say "run $label: $(field "$results/runs/$dir" .verdict) (exit $(cat "$rcf" 2>/dev/null || echo ?))"
	echo "$results/runs/$dir"
}

cost_rows=()
cost_best=""   # the highest rate's us per request, for the final table

costrow() { # LABEL RATE DIR
	local c; c=$(costof "$3")
	if [ "$c" = null ]; then cost_rows+=("$(printf '%-8s %6s  %s' "$1" "$2" "no steady seconds in host.jsonl/seconds.jsonl")"); return; fi
	local rps secs us cores share used other procs goal
	read -r rps secs us cores share used other procs < <(jq -r '[(.rps | round), .host_seconds, (.us * 10 | round / 10),
		(.lab_cores * 1000 | round / 1000), (if .cpus > 0 then (.us * 2000 / 1e6 / .cpus * 1000 | round / 10 | tostring) + "%" else "n/a" end),
		(.used * 100 | round / 100), (.other * 100 | round / 100), (if .procs > 0 then .procs else "-" end)] | @tsv' <<<"$c")
	goal=$(jq -r --argjson g "$COST_GOAL" 'if .us <= $g then "met" else "NOT-met" end' <<<"$c")
	cost_rows+=("$(printf '%-8s %6s  %6s %4s %7s %6s %8s %6s %6s %5s  %-8s %s' "$1" "$2" "$rps" "$secs" "$us" "$cores" "$share" "$used" "$other" "$procs" "$goal" "$(basename "$3")")")
}

cost() {
	derive cost "$PACER_TYPE" 0s 3 3 3
	local r d top=""
	for r in $COST_RATES; do
		d=$(run "cost-$r" "$(costscenario "$r")")
		[ -n "$d" ] || { cost_rows+=("$(printf '%-8s %6s  %s' plain "$r" "no summary")"); continue; }
		costrow plain "$r" "$d"
		top=$r
		cost_best=$(costof "$d" | jq -r 'if . == null then "n/a" else "\(.us * 10 | round / 10) us/request at \(.rps | round) rps (\(.lab_cores * 1000 | round / 1000) cores)" end')
		cost_cmd="STAGES=cost COST_RATES=$r COST_STEADY=$COST_STEADY SPEED=$SPEED bash bench/flashsale.sh"
	done
	if [ "$COST_TUI" = 1 ] && [ -n "$top" ]; then
		if command -v tmux >/dev/null; then
			d=$(tuirun "cost-$top-tui" "$gen/cost-$top.scenario.yaml")
			if [ -n "$d" ]; then costrow tui "$top" "$d"; else cost_rows+=("$(printf '%-8s %6s  %s' tui "$top" "no summary")"); fi
		else
			cost_rows+=("$(printf '%-8s %6s  %s' tui "$top" "not measured: tmux is not installed (make test-deps)")")
		fi
	fi
	# peers at the top rate: the lab's load generator alone, and a plain
	# vegeta attack of the same requests, straight to one zero-cost
	# SimplyDone (bench/cmd/loadcost)
	local peers=""
	if [ -n "$top" ] && [ "$COST_PEERS" = 1 ]; then
		say "$(date +%T) the load generator alone at $top/s (bench/cmd/loadcost, $COST_PEER_ROUNDS rounds)"
		if (cd "$repo" && go build -o "$gen/loadcost" ./bench/cmd/loadcost) &&
			"$gen/loadcost" -lab "$lab" -rate "$top" -duration 20s -rounds "$COST_PEER_ROUNDS" >"$results/loadcost.txt" 2>&1; then
			peers=$(awk -v r="$top" '/^medians/ { m = 1; next } m { printf "%-8s %6s  %6.0f %4s %7.1f   (the load generator alone, straight to one instance: bench/cmd/loadcost, median of '"$COST_PEER_ROUNDS"' rounds of 20 s; lag p99 %.1f ms)\n", $1, r, $3, "20", $5, $6 }' "$results/loadcost.txt")
		else
			peers="peers    $top  bench/cmd/loadcost failed: see $results/loadcost.txt"
		fi
	fi
	local t
	t=$(printf '%-8s %6s  %6s %4s %7s %6s %8s %6s %6s %5s  %-8s %s\n' \
		mode rate rps secs us/req cores "@2000/s" inst other procs goal run
		printf '%s\n' "${cost_rows[@]}"
		[ -z "$peers" ] || printf '%s\n' "$peers")
	sumrow "lab's own CPU per request (goal $COST_GOAL us)" "${cost_best:-n/a}" "${cost_cmd:-}"
	tables+=("LAB COST (the lab process's own CPU, utime+stime, per request sent; zero-cost instances: 3 x $PACER_TYPE, SIMPLYDONE_CPU_COST 0s; steady $COST_STEADY at speed $SPEED, its first 2 and last wall second left out; us/req = lab CPU / requests sent; cores = lab CPU per wall second; @2000/s = us/req x 2000/s as a share of the host's cores; inst = the instances' cores; other = the host's busy cores outside the lab and its instances (other work on this shared host); procs = the most cores the lab's own Go code could run on in those seconds (GOMAXPROCS, internal/procs); secs = the steady seconds host.jsonl has; goal $COST_GOAL us/request)
$t")
}

for st in $STAGES; do
	case $st in
	pacer) pacer ;;
	cost) cost ;;
	users) users ;;
	capacity) capacity ;;
	builtin) builtin ;;
	*) say "unknown stage $st"; exit 2 ;;
	esac
done

{
	echo
	for t in "${tables[@]}"; do printf '%s\n\n' "$t"; done
	if [ ${#summary[@]} -gt 0 ]; then
		echo "SUMMARY (each figure with the command that reproduces it; details in the tables above)"
		printf '%-44s %-46s %s\n' measure result command
		printf '%s\n' "${summary[@]}"
		echo
	fi
	echo "wall time $(($(date +%s) - t0)) s; results in ${results#"$repo"/}"
} | tee "$results/tables.txt"
