#!/usr/bin/env bash
# test-deps.sh: install and start what `make test` needs beyond Go, where it
# can (as root, from Debian's packages), and say what is missing where it
# cannot. Idempotent.
#   - a Docker engine (docker.io), started with no bridge, no iptables and no
#     masquerading, so no container traffic can leave the machine;
#   - tmux, for the TUI's test in a real terminal;
#   - chromium, for the report's test in a real browser;
#   - Debian's PostgreSQL server (postgresql: initdb, postgres,
#     pg_basebackup under /usr/lib/postgresql/NN/bin), for a stack's
#     database: section (sim/rds). `make run` installs only this one:
#     `test-deps.sh postgresql`.
# Tests that need a missing piece skip and say why, unless CI asks for it
# (LAB_REQUIRE_DOCKER=1 makes a missing engine a failure).
set -uo pipefail
cd "$(dirname "$0")/.."

need=()
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }
only="$*"
want tmux && { command -v tmux >/dev/null 2>&1 || need+=(tmux); }
want chromium && { command -v chromium >/dev/null 2>&1 || need+=(chromium); }
want docker.io && { command -v dockerd >/dev/null 2>&1 || need+=(docker.io); }
# The server's programs are not on PATH on Debian (only the client wrappers are).
have_pg() { for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_basebackup" ] && return 0; done; return 1; }
want postgresql && { have_pg || need+=(postgresql); }

if [ "$(id -u)" != 0 ]; then
	[ ${#need[@]} -gt 0 ] && echo "test-deps: not root, so not installing: ${need[*]} (tests that need them will skip)"
	exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
	echo "test-deps: installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null || echo "test-deps: apt-get install failed" >&2
fi
if want docker.io; then
	bash sim/az/docker/testdata/start-dockerd.sh || echo "test-deps: no Docker engine; the Docker tests will skip" >&2
fi
if want postgresql && ! have_pg; then
	echo "test-deps: no PostgreSQL server; stacks with a database: section will not start (apt-get install -y postgresql)" >&2
fi
exit 0
