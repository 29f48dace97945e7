#!/usr/bin/env bash
# Install the Debian/Ubuntu packages Pier needs, skipping what is already there.
# Used by `make run`, `make test` and .ci/run; safe to run again.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
python_bin=$(command -v python3.11 || command -v python3 || true)

[ -n "$python_bin" ] || need+=(python3)
[ -n "$python_bin" ] && ! "$python_bin" -c 'import ensurepip, venv' 2>/dev/null && need+=(python3-venv)
have git || need+=(git)
have make || need+=(make)
have redis-server || need+=(redis-server)
have curl || need+=(curl)
have dockerd || need+=(docker.io)
have debootstrap || need+=(debootstrap)
# The router (runtime/router/haproxy.py; see bench/results/router.json for why not Caddy).
[ -x /usr/sbin/haproxy ] || have haproxy || need+=(haproxy)
# Pier's image registry (Docker Distribution; `manage.py registry`, see README "Pier's registry").
have docker-registry || need+=(docker-registry)
# The test suite also drives a real browser, busybox makes its tiny app images, and Pebble
# is the certificate authority of the HTTPS tests.
if [ "${PIER_TEST_DEPS:-0}" = 1 ]; then
    [ -x /usr/bin/chromium ] || need+=(chromium)
    [ -x /bin/busybox ] || need+=(busybox-static)
    have pebble || need+=(pebble)
    # The Swarm tests' cluster (scripts/swarm-cluster.sh): nodes in network namespaces
    # (`ip netns`); its registry is the docker-registry installed above.
    have ip || need+=(iproute2)
fi

if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
echo "-----> Installing system packages: ${need[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
