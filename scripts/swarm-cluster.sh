#!/usr/bin/env bash
# A real multi-node Docker Swarm on this one machine, for the Swarm backend's tests and
# bench/cluster.py (tests/swarm_cluster.py drives it).
#
# Each node is its own dockerd (and containerd) in its own network, mount and UTS
# namespace with its own address; the nodes hang off a bridge in a "hub" namespace that
# also runs Debian's docker-registry, which every node trusts. The host reaches the nodes
# (the router, health checks) through a veth at <net>.1; nodes have no default route, so
# nothing leaves the cluster's /24.
#
# Usage: swarm-cluster.sh up [N]    network + registry + N dockerds (default 3) + swarm
#        swarm-cluster.sh down      tear everything down (safe to repeat)
#        swarm-cluster.sh kill I    hard-kill node I (dockerd, containerd, its processes)
#        swarm-cluster.sh start I   start node I again (it rejoins by itself)
#        swarm-cluster.sh add I     a new machine I (up to 9): a dockerd in no Swarm yet
#        swarm-cluster.sh partition I   cut node I off the network (it keeps running)
#        swarm-cluster.sh heal I    connect node I again
#        swarm-cluster.sh forward PORT   127.0.0.1:PORT on every node reaches the host's
#                                   PORT: a registry the host's engine names 127.0.0.1:PORT
#                                   (insecure by default there) is then the same name on
#                                   every node, as one name is on a real cluster
# Env:   PIER_SWARM_LAB=pswl        name prefix of namespaces, run and data directories
#        PIER_SWARM_LAB_NET=10.217.0   the cluster's /24: host .1, registry .2, node I .1I
# Node I: DOCKER_HOST=unix:///run/<prefix>-nI/docker.sock, hostname <prefix>-nI.
# Needs root, dockerd (docker.io), iproute2, util-linux, docker-registry, curl.
set -euo pipefail

P=${PIER_SWARM_LAB:-pswl}
NET=${PIER_SWARM_LAB_NET:-10.217.0}
N=3
HUB=$P-hub
REG=$NET.2:5000
RUN=/run/$P

sock() { echo "unix://$RUN-n$1/docker.sock"; }
dk() { local i=$1; shift; docker -H "$(sock "$i")" "$@"; }

net_up() {
    ip netns add "$HUB"
    ip -n "$HUB" link set lo up
    ip -n "$HUB" link add br0 type bridge
    ip -n "$HUB" link set br0 up
    ip -n "$HUB" addr add "$NET.2/24" dev br0
    # The bridge lives in its own namespace: the host's FORWARD policy never sees it.
    ip link add "$P-host" type veth peer name host netns "$HUB"
    ip addr add "$NET.1/24" dev "$P-host"
    ip link set "$P-host" up
    ip -n "$HUB" link set host master br0 up
    for i in $(seq 1 "$N"); do node_net "$i"; done
}

node_net() {
    local i=$1
    ip netns add "$P-n$i"
    ip -n "$P-n$i" link set lo up
    ip link add "n$i" netns "$HUB" type veth peer name eth0 netns "$P-n$i"
    ip -n "$HUB" link set "n$i" master br0 up
    ip -n "$P-n$i" addr add "$NET.1$i/24" dev eth0
    ip -n "$P-n$i" link set eth0 up
}

# `ip netns exec` remounts /sys, hiding the host's cgroup hierarchies: mount them again.
cgroup_mounts() {
    echo 'mount -t tmpfs -o mode=755 cgroup-root /sys/fs/cgroup'
    awk '$3=="cgroup"||$3=="cgroup2"{print $2, $3, $4}' /proc/self/mounts |
    while read -r dir type opts; do
        if [ "$type" = cgroup2 ]; then
            echo "mkdir -p $dir && mount -t cgroup2 cgroup2 $dir"
        else
            o=$(echo "$opts" | tr , '\n' | grep -vxE 'rw|ro|relatime|noatime|nosuid|nodev|noexec' | paste -sd,)
            case "$o" in name=*) o="none,$o" ;; esac
            echo "mkdir -p $dir && mount -t cgroup -o $o cgroup $dir"
        fi
    done
}

node_start() {
    local i=$1 d=$RUN-n$1
    mkdir -p "$d"/{exec,rundocker,runcontainerd,etc-docker} "/var/lib/$P-n$i"
    cat > "$d/etc-docker/daemon.json" <<EOF
{"insecure-registries": ["$NET.0/24"],
 "default-address-pools": [{"base": "10.218.0.0/16", "size": 24}],
 "storage-driver": "overlay2", "live-restore": false, "icc": false}
EOF
    # A dead non-loopback nameserver costs 5 s per pull attempt; loopback fails at once.
    echo "nameserver 127.0.0.1" > "$d/resolv.conf"
    {
        echo 'set -e'
        cgroup_mounts
        echo "mkdir -p /etc/docker /run/docker /run/containerd"  # on a host without Docker
        # dockerd, libnetwork and containerd hard-code these: each node needs its own
        # (one engine id, one set of sockets per node).
        echo "mount --bind $d/etc-docker /etc/docker"
        echo "mount --bind $d/rundocker /run/docker"
        echo "mount --bind $d/runcontainerd /run/containerd"
        echo "mount --bind $d/resolv.conf /etc/resolv.conf"
        echo "echo $P-n$i > /proc/sys/kernel/hostname"
        echo "exec dockerd -H $(sock "$i") --pidfile $d/docker.pid --data-root /var/lib/$P-n$i" \
             "--exec-root $d/exec --cgroup-parent /$P-n$i --config-file /etc/docker/daemon.json" \
             "--shutdown-timeout 2"
    } > "$d/start.sh"
    # Its own session: the caller's job control never signals it. Never `wait` for it.
    setsid ip netns exec "$P-n$i" unshare --uts sh "$d/start.sh" \
        > "$d/dockerd.log" 2>&1 < /dev/null &
}

node_wait() {
    local i=$1
    for _ in $(seq 1 300); do
        if dk "$i" version > /dev/null 2>&1; then
            # What every node of a real cluster runs too; the router is the host here.
            ip netns exec "$P-n$i" "$(dirname "$0")/swarm-node-firewall.sh" "$NET.0/24" "$NET.1"
            return 0
        fi
        sleep 0.2
    done
    echo "node $i did not come up; its log:" >&2
    tail -20 "$RUN-n$i/dockerd.log" >&2
    return 1
}

registry_up() {
    command -v docker-registry > /dev/null || {
        echo "docker-registry is not installed: apt-get install docker-registry" >&2; exit 1; }
    mkdir -p "$RUN-reg" "/var/lib/$P-registry"
    cat > "$RUN-reg/config.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: /var/lib/$P-registry}
  delete: {enabled: true}
http:
  addr: $REG
EOF
    setsid ip netns exec "$HUB" docker-registry serve "$RUN-reg/config.yml" \
        > "$RUN-reg/registry.log" 2>&1 < /dev/null &
    echo $! > "$RUN-reg/pid"
    for _ in $(seq 1 100); do
        curl -fsS "http://$REG/v2/" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the registry did not answer at $REG; see $RUN-reg/registry.log" >&2
    return 1
}

swarm_up() {
    dk 1 swarm init --advertise-addr "$NET.11" --listen-addr "$NET.11:2377" \
        --default-addr-pool 10.219.0.0/16 --default-addr-pool-mask-length 24 > /dev/null
    # Node loss noticed in ~3 heartbeats (default 5 s each).
    dk 1 swarm update --dispatcher-heartbeat 1s > /dev/null
    local token pids=""
    token=$(dk 1 swarm join-token -q worker)
    for i in $(seq 2 "$N"); do
        dk "$i" swarm join --token "$token" --advertise-addr "$NET.1$i" \
            --listen-addr "$NET.1$i:2377" "$NET.11:2377" > /dev/null &
        pids="$pids $!"
    done
    # shellcheck disable=SC2086
    wait $pids  # only the joins: a bare `wait` would wait for the daemons too
}

# Connections from node I to 127.0.0.1:PORT go to the host ($NET.1:PORT) instead.
node_forward() {
    local i=$1 port=$2
    ip netns exec "$P-n$i" sh -e -c "
        sysctl -qw net.ipv4.conf.all.route_localnet=1
        iptables -w -t nat -A OUTPUT -d 127.0.0.1/32 -p tcp --dport $port \
            -j DNAT --to-destination $NET.1:$port
        iptables -w -t nat -A POSTROUTING -s 127.0.0.1/32 -d $NET.1/32 -p tcp --dport $port \
            -j SNAT --to-source $NET.1$i"
}

forward() {
    local port=$1 n
    echo "$port" >> "$RUN-forwards"  # for nodes added later
    for n in $(ip netns list | awk '{print $1}' | grep -E "^$P-n[0-9]+$"); do
        node_forward "${n##*-n}" "$port"
    done
}

node_add() {
    local i=$1 port
    node_net "$i"
    node_start "$i"
    node_wait "$i"
    [ -f "$RUN-forwards" ] || return 0
    while read -r port; do node_forward "$i" "$port"; done < "$RUN-forwards"
}

# A killed process can stay a zombie for as long as whatever adopted it (a CI harness that
# reaps orphans late) pleases: it is gone all the same. /proc/PID/stat's state follows "(comm) ".
running() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2> /dev/null | cut -d' ' -f1) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

node_kill() {
    local i=$1 p f killed="" left=""
    for p in $(ip netns pids "$P-n$i" 2> /dev/null); do
        kill -9 "$p" 2> /dev/null && killed="$killed $p"
    done
    for f in /sys/fs/cgroup/pids/$P-n$i/*/cgroup.procs /sys/fs/cgroup/pids/$P-n$i/cgroup.procs; do
        [ -f "$f" ] || continue
        for p in $(cat "$f"); do kill -9 "$p" 2> /dev/null && killed="$killed $p"; done
    done
    # SIGKILL is not instant (a process in the kernel finishes its call first); a node started
    # again before its old dockerd is gone refuses to start ("pid file found").
    for _ in $(seq 1 150); do
        left=""
        for p in $killed; do running "$p" && left="$left $p"; done
        [ -z "$left" ] && break
        sleep 0.2
    done
    [ -z "$left" ] || echo "node $i: processes$left outlived SIGKILL for 30 s" >&2
    # Their pid files name dead (or zombie) processes, which dockerd would take for live ones.
    rm -f "$RUN-n$i/docker.pid" "$RUN-n$i/exec/containerd/containerd.pid"
}

up() {
    N=${1:-3}
    net_up
    registry_up
    for i in $(seq 1 "$N"); do node_start "$i"; done
    for i in $(seq 1 "$N"); do node_wait "$i"; done
    swarm_up
}

down() {
    set +e
    local d p n
    for d in "$RUN"-n*; do
        [ -f "$d/docker.pid" ] && kill "$(cat "$d/docker.pid")" 2> /dev/null
    done
    for _ in $(seq 1 50); do
        alive=0
        for d in "$RUN"-n*; do
            [ -f "$d/docker.pid" ] && running "$(cat "$d/docker.pid")" && alive=1
        done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    for d in "$RUN"-n*; do [ -d "$d" ] && node_kill "${d##*-n}"; done
    [ -f "$RUN-reg/pid" ] && kill "$(cat "$RUN-reg/pid")" 2> /dev/null
    for p in $(ip netns pids "$HUB" 2> /dev/null); do kill "$p" 2> /dev/null; done
    sleep 0.3
    for n in $(ip netns list | awk '{print $1}' | grep -E "^$P-n[0-9]+$"); do
        node_kill "${n##*-n}"
        ip netns del "$n"
    done
    ip link del "$P-host" 2> /dev/null
    ip netns del "$HUB" 2> /dev/null
    for d in /sys/fs/cgroup/*/"$P"-n*; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2> /dev/null
    done
    for d in /var/lib/"$P"-*; do [ -d "$d" ] && rm -rf --one-file-system "$d"; done
    rm -rf "$RUN"-n* "$RUN-reg" "$RUN-forwards"
    return 0
}

case "${1:-}" in
    up) up "${2:-3}" ;;
    down) down ;;
    kill) node_kill "$2" ;;
    start) node_start "$2"; node_wait "$2" ;;
    add) node_add "$2" ;;
    forward) forward "$2" ;;
    partition) ip -n "$HUB" link set "n$2" down ;;
    heal) ip -n "$HUB" link set "n$2" up ;;
    *) echo "usage: $0 up [N] | down | kill I | start I | add I | partition I | heal I |" \
            "forward PORT" >&2; exit 2 ;;
esac
