"""Where one HAProxy router keeps its files: all of them under its state directory, so a
restarted router (or a new worker after a reload) finds its table, certificates and
challenges where the last one left them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def _file(name: str) -> property:
    return property(lambda self: self.state_dir / name, doc=f"<state_dir>/{name}")


@dataclass(frozen=True)
class Paths:
    state_dir: Path
    config = _file("haproxy.cfg")
    hosts = _file("hosts.map")  # host -> app id
    admin = _file("admin.sock")  # the worker's runtime API
    master = _file("master.sock")
    servers = _file("servers.state")  # upstreams kept across a reload
    pages = _file("pages")
    certs = _file("certs")  # one PEM per app (chain, then key), mode 0600
    crt_list = _file("certs.list")
    default_cert = _file("default-cert.pem")
    challenges = _file("acme-challenges.map")
    redirects = _file("https-redirect.map")

    def cert(self, app: str) -> Path:
        return self.certs / f"{app}.pem"
