#!/usr/bin/env bash
# Keep the app processes of one Swarm node away from everything but the internet and the
# router. Run it as root on every node (after dockerd started: DOCKER-USER must exist),
# at every boot (kernel rules are not persistent).
#
# Usage: swarm-node-firewall.sh CLUSTER_CIDR ROUTER_ADDRESS...
#   CLUSTER_CIDR     the private network of the nodes and the control plane (10.0.0.0/24)
#   ROUTER_ADDRESS   where the router and the control plane's health checks come from
#
# App processes sit on the default bridge, docker0 (host-mode published ports, no Swarm
# network); the node's dockerd must run with "icc": false in daemon.json, so they cannot
# talk to each other directly there. Rules:
#  1. they cannot open connections to their own node (its dockerd, Swarm's ports, the
#     published ports of other apps' processes there);
#  2. they cannot open connections into the cluster's network (other nodes, so other
#     apps' processes, the registry, the control plane's PostgreSQL and Redis);
#  3. nobody but the router opens connections to them.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 CLUSTER_CIDR ROUTER_ADDRESS..." >&2; exit 2; }
cidr=$1
shift
rule() {  # add a rule once, at the top of its chain
    iptables -w -C "$@" 2> /dev/null || iptables -w -I "$@"
}
iptables -w -L DOCKER-USER -n > /dev/null 2>&1 || {
    echo "no DOCKER-USER chain: start dockerd first" >&2; exit 1; }
# Inserted in reverse order (each one goes on top): the routers' RETURNs end above the DROP.
rule DOCKER-USER -o docker0 -m conntrack --ctstate NEW -j DROP
for router in "$@"; do
    rule DOCKER-USER -o docker0 -s "$router" -m conntrack --ctstate NEW -j RETURN
done
rule DOCKER-USER -i docker0 -d "$cidr" -m conntrack --ctstate NEW -j DROP
rule INPUT -i docker0 -m conntrack --ctstate NEW -j DROP
