#!/usr/bin/env bash
# Make sure a Docker Engine answers: start dockerd in the background when none does
# (machines without systemd, like CI containers). Safe to run again.
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
if ! command -v dockerd >/dev/null 2>&1; then
    echo "dockerd is not installed: run scripts/install-system-deps.sh" >&2
    exit 1
fi
# live-restore keeps app containers running while dockerd itself restarts.
if [ ! -e /etc/docker/daemon.json ] && [ -w /etc ]; then
    mkdir -p /etc/docker
    echo '{"live-restore": true}' > /etc/docker/daemon.json
fi
echo "-----> Starting the Docker daemon"
log=${DOCKERD_LOG:-/var/log/dockerd.log}
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
done
echo "dockerd did not start within 60 s; see $log" >&2
exit 1
