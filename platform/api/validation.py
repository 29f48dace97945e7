"""Pure checks of user input: names, config keys, hostnames, dyno sizes."""

import ipaddress
import re
from dataclasses import dataclass

from api.errors import Invalid

APP_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,29}$")
CONFIG_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PROCESS_TYPE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
HOSTNAME_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The platform sets these for every process; letting users set them would break routing.
RESERVED_CONFIG_KEYS = frozenset({"PORT", "DYNO"})
MAX_CONFIG_VALUE_BYTES = 32 * 1024


@dataclass(frozen=True)
class DynoSize:
    name: str
    memory_mb: int
    cpu_shares: int
    max_processes: int


DYNO_SIZES = {
    s.name: s
    for s in (
        DynoSize("small", 256, 512, 128),
        DynoSize("standard", 512, 1024, 256),
        DynoSize("large", 1024, 2048, 512),
        DynoSize("xlarge", 2048, 4096, 1024),
    )
}
DEFAULT_DYNO_SIZE = "standard"


def validate_app_name(name: str) -> str:
    if not isinstance(name, str) or not APP_NAME_RE.match(name):
        raise Invalid(
            f"invalid app name {name!r}: use 2-30 characters, lowercase letters, digits and "
            "dashes, starting with a letter (e.g. my-app)"
        )
    if name.endswith("-") or "--" in name:
        raise Invalid(f"invalid app name {name!r}: no trailing or double dashes")
    return name


def validate_config_vars(changes: dict) -> dict:
    """Return the changes if every key is an env var name and every value a string or None."""
    if not isinstance(changes, dict) or not changes:
        raise Invalid('config vars must be a non-empty JSON object like {"KEY": "value"}')
    for key, value in changes.items():
        if not CONFIG_KEY_RE.match(key):
            raise Invalid(
                f"invalid config var name {key!r}: use letters, digits and underscores, "
                "not starting with a digit"
            )
        if key in RESERVED_CONFIG_KEYS:
            raise Invalid(f"{key} is set by Pier for every process and cannot be changed")
        if value is None:
            continue
        if not isinstance(value, str):
            raise Invalid(f"config var {key} must be a string (got {type(value).__name__})")
        if "\x00" in value:
            raise Invalid(f"config var {key} contains a NUL byte, which environments cannot hold")
        if len(value.encode()) > MAX_CONFIG_VALUE_BYTES:
            raise Invalid(f"config var {key} is longer than {MAX_CONFIG_VALUE_BYTES} bytes")
    return changes


def validate_hostname(hostname: str) -> str:
    host = (hostname or "").strip().lower().rstrip(".")
    if _is_ip_literal(host):
        raise Invalid(
            f"{hostname!r} is an IP address: a domain must be a hostname like www.example.com, "
            "pointed at this Pier's router by DNS"
        )
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(HOSTNAME_LABEL_RE.match(p) for p in labels):
        raise Invalid(f"invalid domain {hostname!r}: use a hostname like www.example.com")
    return host


def _is_ip_literal(host: str) -> bool:
    """Tell whether host is an IPv4/IPv6 address, bracketed or not (or a numeric-only name,
    which resolvers also read as IPv4, like 2130706433 or 127.1)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return bool(host) and host.rsplit(".", 1)[-1].isdigit()


def validate_size(size: str) -> DynoSize:
    try:
        return DYNO_SIZES[size]
    except KeyError:
        raise Invalid(f"unknown dyno size {size!r}; sizes: {', '.join(DYNO_SIZES)}") from None


def validate_quantity(quantity, maximum: int) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Invalid(f"quantity must be a whole number (got {quantity!r})")
    if quantity < 0 or quantity > maximum:
        raise Invalid(f"quantity must be between 0 and {maximum} (got {quantity})")
    return quantity
