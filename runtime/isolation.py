"""Kernel rules that keep untrusted containers on a bridge away from where they must not go.

Apps' and builds' bridges get the same two rules: no new connections to the host itself
(INPUT: the platform's Redis, PostgreSQL, Docker... listen there) and nothing forwarded to
link-local metadata addresses (169.254.169.254). Isolation fails closed: a rule that cannot
be put in place raises :class:`runtime.errors.IsolationError`, and the caller runs nothing
on that bridge. Kernel rules are not persistent: callers apply them at every start.
"""

from __future__ import annotations

import shutil
import subprocess

from runtime.errors import IsolationError

# Link-local: cloud metadata services (169.254.169.254) and their neighbours.
METADATA_NETWORK = "169.254.0.0/16"
FIX = ("run Pier as root on a host with iptables, or, on a development machine only, set "
       "PIER_UNSAFE_NO_ISOLATION=1")


def ensure_iptables_rule(chain: str, rule: list[str]) -> None:
    """Insert rule at the top of chain unless it is already there. Errors: IsolationError."""
    iptables = shutil.which("iptables")
    if not iptables:
        raise IsolationError(f"iptables is not installed, so containers could reach services "
                             f"on this host: {FIX}")
    if subprocess.run([iptables, "-w", "-C", chain, *rule], capture_output=True).returncode == 0:
        return
    added = subprocess.run([iptables, "-w", "-I", chain, *rule], capture_output=True, text=True)
    if added.returncode != 0:
        reason = added.stderr.strip() or f"exit status {added.returncode}"
        raise IsolationError(f"iptables -I {chain} {' '.join(rule)} failed ({reason}): {FIX}")


def _host_access_rule(iface: str) -> list[str]:
    return ["-i", iface, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]


def block_host_access(iface: str) -> None:
    """Containers on iface cannot open connections to the host; the host can reach them."""
    ensure_iptables_rule("INPUT", _host_access_rule(iface))


def unblock_host_access(iface: str) -> None:
    """Remove block_host_access's rule once iface is gone (a destroyed add-on's bridge)."""
    iptables = shutil.which("iptables")
    if iptables:
        subprocess.run([iptables, "-w", "-D", "INPUT", *_host_access_rule(iface)],
                       capture_output=True)


def block_metadata_access(iface: str) -> None:
    """Drop what containers on iface send to link-local addresses (metadata services).

    Docker's DOCKER-USER chain comes first in FORWARD and Docker never rewrites it.
    """
    ensure_iptables_rule("DOCKER-USER", ["-i", iface, "-d", METADATA_NETWORK, "-j", "DROP"])


def isolate_bridge(iface: str) -> None:
    """Apply every rule an untrusted bridge gets (raise IsolationError if one fails)."""
    block_host_access(iface)
    block_metadata_access(iface)
