"""Login throttle: failed attempts counted per account and per client address in Redis.

Fixed windows (a counter with an expiry) shared by every web worker, so guessing passwords
costs the same whichever worker answers. The client address comes from X-Forwarded-For only
when the peer is a proxy the operator trusts (PIER_TRUSTED_PROXIES): anyone can send that
header, so otherwise it would let one client pose as many.
"""

import hashlib
import ipaddress
from functools import cache

from django.conf import settings

from api.errors import RateLimited
from pier.redis import get_redis


@cache
def _trusted_networks(spec: str) -> tuple:
    cidrs = [c.strip() for c in spec.split(",") if c.strip()]
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in _trusted_networks(settings.PIER_TRUSTED_PROXIES))


def client_address(meta: dict) -> str:
    """Return the client's address: the peer, or the first untrusted hop a trusted proxy saw."""
    address = meta.get("REMOTE_ADDR", "")
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    # Walk back from the nearest hop: each trusted proxy vouches for the one before it.
    while _trusted(address) and hops:
        address = hops.pop()
    return address


def _keys(account: str, address: str) -> list[tuple[str, int]]:
    digest = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]
    return [
        (f"pier:login-fails:account:{digest}", settings.PIER_LOGIN_MAX_ATTEMPTS),
        (f"pier:login-fails:address:{address}", settings.PIER_LOGIN_MAX_ATTEMPTS_PER_ADDRESS),
    ]


def login_throttle_check(*, account: str, address: str) -> None:
    """Raise RateLimited while the account or the address has used up its failed attempts."""
    client = get_redis()
    keys = _keys(account, address)
    pipe = client.pipeline(transaction=False)
    for key, _ in keys:
        pipe.get(key)
        pipe.ttl(key)
    replies = pipe.execute()
    waits = [
        max(ttl, 1)
        for (_, limit), count, ttl in zip(keys, replies[::2], replies[1::2], strict=True)
        if int(count or 0) >= limit
    ]
    if waits:
        wait = max(waits)
        raise RateLimited(
            f"too many failed logins for this account or from this address: try again in "
            f"{wait} seconds (or ask an admin to reset your password)",
            retry_after=wait,
        )


def login_failed(*, account: str, address: str) -> None:
    """Count a failed attempt against both the account and the address."""
    pipe = get_redis().pipeline(transaction=True)
    for key, _ in _keys(account, address):
        # NX: the window starts at the first failure and is never extended by later ones.
        pipe.set(key, 0, ex=settings.PIER_LOGIN_WINDOW_SECONDS, nx=True)
        pipe.incr(key)
    pipe.execute()
