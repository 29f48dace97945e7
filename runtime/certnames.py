"""Which host names a certificate is valid for: shared by the router and the control plane."""

from __future__ import annotations

import datetime
import functools

from cryptography import x509
from cryptography.x509.oid import NameOID


def names(leaf: x509.Certificate) -> tuple[str, ...]:
    """Return the DNS names of ``leaf`` (its SANs; its common name when it has none)."""
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return tuple(n.lower() for n in san.value.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return tuple(a.value.lower() for a in leaf.subject.get_attributes_for_oid(
            NameOID.COMMON_NAME))


def covers(cert_names: tuple[str, ...] | list[str], host: str) -> bool:
    """Whether a certificate for ``cert_names`` is valid for ``host`` (one-label wildcards)."""
    for name in cert_names:
        name = name.lower()
        if name == host or (name.startswith("*.") and host.partition(".")[2] == name[2:]):
            return True
    return False


def covered_hosts(pem: str, hosts: tuple[str, ...] | list[str]) -> list[str]:
    """Return those of ``hosts`` that the leaf certificate of ``pem`` serves validly now."""
    leaf_names, not_before, not_after = _leaf(pem)
    now = datetime.datetime.now(datetime.UTC)
    if not leaf_names or not not_before <= now < not_after:
        return []
    return [host for host in hosts if covers(leaf_names, host.lower())]


@functools.lru_cache(maxsize=1024)
def _leaf(pem: str) -> tuple[tuple[str, ...], datetime.datetime, datetime.datetime]:
    # The router asks on every pass of the runtime: parse each certificate once.
    try:
        leaf = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        epoch = datetime.datetime.fromtimestamp(0, datetime.UTC)
        return (), epoch, epoch
    return names(leaf), leaf.not_valid_before_utc, leaf.not_valid_after_utc
