#!/bin/sh
# start-dockerd.sh: make sure a Docker engine answers on /var/run/docker.sock.
# Idempotent: does nothing when an engine already answers. Otherwise installs
# Debian's docker.io when dockerd is missing, starts dockerd with no bridge,
# no iptables and no masquerading (so no container traffic can leave the
# machine; the lab's containers use host networking on loopback), and waits
# up to 60 s for the socket to answer. Needs root. Log: /tmp/dockerd.log.
set -eu

answers() {
	docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1
}

if command -v docker >/dev/null 2>&1 && answers; then
	echo "start-dockerd: engine already answers (API $(docker version --format '{{.Server.APIVersion}}'))"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "start-dockerd: no engine answers and not root; cannot start one" >&2
	exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
	echo "start-dockerd: installing docker.io"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q docker.io
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
	echo "start-dockerd: starting dockerd --bridge=none --iptables=false --ip-masq=false"
	# its own session: no signal to the caller's process group reaches it
	setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false >/tmp/dockerd.log 2>&1 &
	echo $! >/tmp/dockerd.pid
fi

i=0
while [ $i -lt 60 ]; do
	if answers; then
		echo "start-dockerd: engine answers (API $(docker version --format '{{.Server.APIVersion}}'), pid $(cat /tmp/dockerd.pid 2>/dev/null || pgrep -x dockerd))"
		exit 0
	fi
	sleep 1
	i=$((i + 1))
done
echo "start-dockerd: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 30 /tmp/dockerd.log >&2 || true
exit 1
