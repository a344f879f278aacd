#!/usr/bin/env bash
# bench/dbfailover.sh: the time from a primary's death to the first
# successful write through the endpoint, in AWS seconds, against AWS's
# figures (a Multi-AZ DB instance's failover typically 60-120 s, a Multi-AZ
# DB cluster's typically under 35 s). Each round kills the primary's server
# (SIGKILL), and a client opens a new connection through the writer
# endpoint and inserts a row until one succeeds (sim/rds TestMeasureFailover).
# The lab holds the endpoint for AWS's figure (90 s, the middle of 60-120 s;
# 35 s) from the
# failure's detection; what it adds on top is its own detection, fencing,
# promotion and the client's reconnection, at the clock's speed.
#
# Environment: SPEED (AWS seconds per wall second, default 20), ROUNDS
# (failovers per deployment, default 3). Needs Debian's postgresql.
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_RDS_MEASURE=1 LAB_RDS_SPEED="${SPEED:-20}" LAB_RDS_ROUNDS="${ROUNDS:-3}" \
	go test -count=1 -p 1 -run '^TestMeasureFailover$' -v ./sim/rds/ 2>&1 | grep -E 'TestMeasureFailover|death to first write|^(ok|FAIL)'
