"""Kernel rules that keep untrusted containers on a bridge away from where they must not go.

Host access is blocked by :func:`runtime.backends.docker.block_host_access` (INPUT);
this module adds the forwarded destinations a container must not reach either.
"""

from __future__ import annotations

import shutil
import subprocess

# Link-local: cloud metadata services (169.254.169.254) and their neighbours.
METADATA_NETWORK = "169.254.0.0/16"


class IsolationError(Exception):
    """A rule could not be put in place; the message says which and why."""


def ensure_iptables_rule(chain: str, rule: list[str]) -> None:
    """Insert rule at the top of chain unless it is already there. Errors: IsolationError."""
    iptables = shutil.which("iptables")
    if not iptables:
        raise IsolationError("iptables is not installed (apt-get install iptables)")
    if subprocess.run([iptables, "-w", "-C", chain, *rule], capture_output=True).returncode == 0:
        return
    added = subprocess.run([iptables, "-w", "-I", chain, *rule], capture_output=True, text=True)
    if added.returncode != 0:
        raise IsolationError(f"iptables -I {chain} {' '.join(rule)}: {added.stderr.strip()}")


def block_metadata_access(iface: str) -> None:
    """Drop what containers on iface send to link-local addresses (metadata services).

    Docker's DOCKER-USER chain comes first in FORWARD and Docker never rewrites it.
    """
    ensure_iptables_rule("DOCKER-USER", ["-i", iface, "-d", METADATA_NETWORK, "-j", "DROP"])
