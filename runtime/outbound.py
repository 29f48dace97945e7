"""Where Pier may connect on a user's behalf (drains, webhooks): public addresses only.

A user-given host name is resolved and every address it resolves to is checked, at the
time it is given (for a clear error) and again at every connect (DNS rebinding: a name
that was public when added may point at 127.0.0.1 later). The connection then goes to the
very address that was checked, never through a second resolution. Refused: loopback,
private, link-local (cloud metadata at 169.254.169.254), shared CGNAT (100.64/10),
multicast, unspecified and reserved ranges, IPv4 addresses hidden in IPv6 ones
(``::ffff:127.0.0.1``, 6to4, NAT64), and any address of this host. An operator can allow
given ranges (``PIER_OUTBOUND_ALLOW``), which then pass every rule.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list]  # socket.getaddrinfo's signature

ALLOW_VARIABLE = "PIER_OUTBOUND_ALLOW"
HINT = (f"Pier only connects to public addresses; an operator can allow a range with "
        f"{ALLOW_VARIABLE}")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10"))


class Refused(Exception):
    """The destination is not a public address: never connect to it."""


class Unresolved(OSError):
    """The host name does not resolve (now): a delivery may try again later."""


def parse_allow(text: str) -> tuple[Network, ...]:
    """Return the ranges of a comma-separated CIDR list such as ``10.1.0.0/16,fd00::/8``."""
    networks = []
    for item in (text or "").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError as e:
                raise ValueError(f"{ALLOW_VARIABLE}: {item.strip()!r} is not a CIDR range "
                                 "like 10.1.0.0/16") from e
    return tuple(networks)


def effective(address: Address) -> Address:
    """Return the IPv4 address an IPv6 address really reaches, when it embeds one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped or address.sixtofour:
            return address.ipv4_mapped or address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def own_address(address: Address) -> bool:
    """Whether address is one of this host's: only those can be bound to."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


def rule_broken(address: Address) -> str | None:
    """Return what makes address non-public (``a loopback address``...), or None."""
    address = effective(address)
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _CGNAT, "a shared (CGNAT) address"),
        (any(address in net for net in _PRIVATE), "a private address"),
        (address.is_reserved or not address.is_global, "a reserved address"),
    )
    for broken, rule in checks:
        if broken:
            return rule
    return "an address of this host" if own_address(address) else None


class Policy:
    """Resolve, check and connect to user-given hosts.

    ``resolver`` (``socket.getaddrinfo`` by default) is a seam for tests of name changes.
    """

    def __init__(self, allow: Iterable[Network | str] = (), *,
                 resolver: Resolver = socket.getaddrinfo) -> None:
        self.allow = tuple(ipaddress.ip_network(n, strict=False) for n in allow)
        self.resolver = resolver

    @classmethod
    def from_env(cls, environ=None, **options) -> Policy:
        environ = os.environ if environ is None else environ
        return cls(parse_allow(environ.get(ALLOW_VARIABLE, "")), **options)

    def refusal(self, address: Address) -> str | None:
        """Return why address is refused, or None when Pier may connect to it."""
        if any(address in net or effective(address) in net for net in self.allow):
            return None
        return rule_broken(address)

    def addresses(self, host: str, port: int | None, *, what: str = "host") -> list[str]:
        """Return the addresses host resolves to now, all checked; raise Refused if any
        is refused, Unresolved if there are none (``what`` names the host in messages,
        e.g. ``drain host``)."""
        try:
            infos = self.resolver(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise Unresolved(f"{what} {host} does not resolve ({e}): check the name") from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for text in addresses:
            address = ipaddress.ip_address(text.partition("%")[0])
            rule = self.refusal(address)
            if rule:
                via = "" if text == host else f" resolves to {text}, which"
                raise Refused(f"{what} {host}{via} is {rule}: {HINT}")
        if not addresses:
            raise Unresolved(f"{what} {host} does not resolve: check the name")
        return addresses

    def connect(self, host: str, port: int, *, timeout: float | None = None,
                what: str = "host") -> socket.socket:
        """Open a TCP connection to host, only to an address just checked."""
        error: OSError | None = None
        for address in self.addresses(host, port, what=what):
            try:
                return socket.create_connection((address, port), timeout=timeout)
            except OSError as e:
                error = e
        raise error

    def http_client(self, *, timeout: float = 10.0, what: str = "host") -> httpx.Client:
        """Return an httpx client whose every connection goes through :meth:`addresses`.

        No proxy from the environment (a proxy would resolve the name itself) and no
        redirects (httpx's default) are followed.
        """
        transport = httpx.HTTPTransport()
        # httpx has no public hook for the network backend of its connection pool.
        transport._pool._network_backend = _CheckedBackend(self, what)
        return httpx.Client(transport=transport, timeout=timeout, trust_env=False)


class _CheckedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to addresses the policy checked."""

    def __init__(self, policy: Policy, what: str) -> None:
        self.policy, self.what = policy, what

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = self.policy.addresses(host, port, what=self.what)
        except Unresolved as e:
            raise httpcore.ConnectError(str(e)) from e
        error: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except httpcore.ConnectError as e:
                error = e
        raise error
