#!/usr/bin/env bash
# bench/soak.sh (make soak): a steady rate against the built-in SimplyDone
# stack for an hour (SOAK_DURATION), recording the lab's resident memory,
# Go heap, goroutines and open files before the load (after WARM of it),
# every SOAK_EVERY, at its end and after the lab closed (bench/cmd/soak).
# A bounded lab shows the same goroutines at the end as after warming up,
# the same as before it started once closed, and a flat heap once
# CloudWatch's 3 AWS hours of raw samples are full (SPEED 10: 18 wall
# minutes in).
#
#   SOAK_DURATION=10m SPEED=30 bash bench/soak.sh     # a short soak
#
# Environment: SOAK_DURATION (1h), RATE (50 requests/s), SPEED (10),
# SOAK_EVERY (1m), WARM (2m), PORT (18690), DRIVER (process).
# Results go under bench/results/soak-<time>/: soak.csv, soak.txt and the
# run directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root="$here/.."
out="$here/results/soak-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$out"
cd "$root"
CGO_ENABLED=0 go build -o bin/simplydone ./cmd/simplydone
CGO_ENABLED=0 go build -o bin/soak ./bench/cmd/soak
PATH="$root/bin:$PATH" bin/soak -duration "${SOAK_DURATION:-1h}" -rate "${RATE:-50}" -speed "${SPEED:-10}" \
	-every "${SOAK_EVERY:-1m}" -warm "${WARM:-2m}" -port "${PORT:-18690}" -driver "${DRIVER:-process}" \
	-out "$out" -csv "$out/soak.csv" 2>"$out/soak.log" | tee "$out/soak.txt"
echo "results: $out"
