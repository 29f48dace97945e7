"""HTTPS for the HAProxy router: certificate files, their crt-list, and ACME challenges.

Certificates are installed, replaced and removed through HAProxy's runtime API (HAProxy
2.2+: ``new ssl cert`` / ``set ssl cert`` / ``commit ssl cert`` / ``add ssl crt-list`` /
``del ssl crt-list`` / ``del ssl cert``), so no reload happens and no connection drops. The
same change is then written to disk (``certs/<app>.pem``, mode 0600, listed in
``certs.list``), so a restarted or reloaded HAProxy starts with every certificate.

HAProxy refuses a ``bind ... ssl`` without any certificate, and a client naming a host
that has none needs one anyway: a self-signed default certificate is generated once.

ACME HTTP-01 answers come from a map file (token -> key authorization) that the ACME client
fills through ``add map`` / ``del map``; the frontend answers
``/.well-known/acme-challenge/<token>`` from it for every host.

HTTP to HTTPS redirects (301) are another map (host -> 1), kept by the runtime the same way:
a host is in it while its app wants redirects and serves a valid certificate for it.
Challenge paths are never redirected (an ACME server asks over plain HTTP).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from runtime.errors import ImproperlyConfigured, RouterUnavailable
from runtime.router import haproxy_process
from runtime.router.haproxy_paths import Paths

# Mozilla's "intermediate" profile (TLS 1.2 with AEAD ciphers and forward secrecy, TLS 1.3).
CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
])
CIPHERSUITES = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
CHALLENGE_PREFIX = "/.well-known/acme-challenge/"
Api = Callable[[str], str]


def global_lines() -> list[str]:
    return [
        f"    ssl-default-bind-ciphers {CIPHERS}",
        f"    ssl-default-bind-ciphersuites {CIPHERSUITES}",
        "    ssl-default-bind-options prefer-client-ciphers no-sslv3 no-tlsv10 no-tlsv11"
        " no-tls-tickets",
    ]


def bind_line(paths: Paths, listen: str) -> str:
    # The first certificate is the default one: what a client naming no known host gets.
    address = haproxy_process.bind_address(haproxy_process.HTTPS_SOCKET, listen)
    return (f"    bind {address} ssl crt {paths.default_cert} crt-list {paths.crt_list}"
            " alpn h2,http/1.1")


def frontend_lines(paths: Paths) -> list[str]:
    """Answer ACME HTTP-01 challenges for every host, before any app routing."""
    return [
        f"    http-request set-var(txn.acme) path,field(4,/),map_str({paths.challenges})"
        f" if {{ path_beg {CHALLENGE_PREFIX} }}",
        '    http-request return status 200 content-type text/plain lf-string'
        ' "%[var(txn.acme)]" hdr Cache-Control no-store if { var(txn.acme) -m found }',
    ]


def https_url(host: str, https_listen: str) -> str:
    """The log-format prefix of a redirect's target: ``https://<host>[:port]``."""
    port = https_listen.rpartition(":")[2]
    return f"https://{host}" + ("" if port == "443" else f":{port}")


def redirect_lines(paths: Paths, https_listen: str) -> list[str]:
    """Send plain HTTP for the hosts in the redirect map to HTTPS (301), challenges aside."""
    target = https_url("%[var(txn.host)]", https_listen) + "%[capture.req.uri]"
    return [
        f"    http-request redirect code 301 location {target}"
        f" if !{{ ssl_fc }} !{{ path_beg {CHALLENGE_PREFIX} }}"
        f" {{ var(txn.host),map_str({paths.redirects}) -m found }}",
    ]


def prepare(paths: Paths) -> None:
    """Create what HAProxy needs to start an HTTPS listener: default cert, lists, map."""
    paths.certs.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in (paths.crt_list, paths.challenges, paths.redirects):
        if not path.exists():
            path.write_text("")
    if not paths.default_cert.exists():
        _write_secret(paths.default_cert, self_signed_pem("pier-default"))


def read_bundle(chain_file: str, key_file: str) -> str:
    """Return the PEM bundle HAProxy serves (chain, then key) from an operator's two files."""
    try:
        chain, key = Path(chain_file).read_text(), Path(key_file).read_text()
    except OSError as e:
        raise ImproperlyConfigured(f"cannot read the control plane's certificate: {e}") from e
    return chain.strip() + "\n" + key.strip() + "\n"


def self_signed_pem(name: str, days: int = 3650) -> str:
    """Return a self-signed certificate and its key as one PEM bundle."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        # Key identifiers tell apart self-signed certificates that share a name.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM).decode() + key_pem.decode()


class Certificates:
    """Keep HAProxy's certificates equal to one PEM bundle (chain + key) per app."""

    def __init__(self, paths: Paths, api: Api) -> None:
        self.paths = paths
        self.api = api  # sends one command to HAProxy's runtime API, returns its answer

    def installed(self) -> dict[str, str]:
        found = {}
        for line in _read(self.paths.crt_list).splitlines():
            path = Path(line.split()[0]) if line.strip() else None
            if path and path.parent == self.paths.certs:
                found[path.stem] = _read(path)
        return found

    def sync(self, wanted: dict[str, str]) -> None:
        current = self.installed()
        for app, pem in sorted(wanted.items()):
            if current.get(app) != pem:
                self._put(app, pem, new=app not in current)
        for app in sorted(current.keys() - wanted.keys()):
            self._delete(app)

    def _put(self, app: str, pem: str, *, new: bool) -> None:
        """Install or replace one certificate; the old one serves until the commit."""
        path = self.paths.cert(app)
        if new:
            self._api(f"new ssl cert {path}", "New empty certificate store")
        try:
            self._api(f"set ssl cert {path} <<\n{pem.strip()}\n", "Transaction ")
            self._api(f"commit ssl cert {path}", "Success!")
        except RouterUnavailable:
            _quietly(self.api, f"abort ssl cert {path}")
            if new:
                _quietly(self.api, f"del ssl cert {path}")
            raise
        if new:
            self._api(f"add ssl crt-list {self.paths.crt_list} {path}", "Success!")
        _write_secret(path, pem)
        if new:
            with _locked(self.paths.crt_list) as lines:
                lines.append(str(path))

    def _delete(self, app: str) -> None:
        path = self.paths.cert(app)
        self._api(f"del ssl crt-list {self.paths.crt_list} {path}", "deleted in crtlist")
        self._api(f"del ssl cert {path}", "deleted!")
        with _locked(self.paths.crt_list) as lines:
            lines[:] = [line for line in lines if line.split()[0] != str(path)]
        path.unlink(missing_ok=True)

    def _api(self, command: str, success: str) -> str:
        answer = self.api(command)
        if success not in answer:
            verb = command.split(" <<", 1)[0]
            raise RouterUnavailable(f"HAProxy refused `{verb}`: {answer.strip()}")
        return answer


class Challenges:
    """ACME HTTP-01 answers the router serves: token -> key authorization."""

    def __init__(self, paths: Paths, api: Api) -> None:
        self.paths = paths
        self.api = api  # sends one command to HAProxy's runtime API, returns its answer

    def add(self, token: str, key_authorization: str) -> None:
        _check_token(token)
        _check_token(key_authorization.replace(".", ""))
        _map_set(self.api, self.paths.challenges, {token: key_authorization}, set())

    def remove(self, token: str) -> None:
        _check_token(token)
        _map_set(self.api, self.paths.challenges, {}, {token})


class Redirects:
    """The hosts whose plain HTTP requests are redirected to HTTPS."""

    def __init__(self, paths: Paths, api: Api) -> None:
        self.paths = paths
        self.api = api

    def installed(self) -> set[str]:
        return {line.split()[0] for line in _read(self.paths.redirects).splitlines()
                if line.strip()}

    def sync(self, hosts: set[str]) -> None:
        current = self.installed()
        if hosts != current:
            _map_set(self.api, self.paths.redirects, dict.fromkeys(hosts - current, "1"),
                     current - hosts)


def _map_set(api: Api, path: Path, put: dict[str, str], remove: set[str]) -> None:
    """Change a map file and HAProxy's copy of it alike: the file for the next reload or
    restart, the runtime API for now. Keys and values must be single words."""
    with _locked(path) as lines:
        lines[:] = [line for line in lines
                    if line.split()[0] not in remove and line.split()[0] not in put]
        lines.extend(f"{key} {value}" for key, value in put.items())
    for key in sorted(remove | put.keys()):
        _quietly(api, f"del map {path} {key}")  # absent: nothing to delete
    for key, value in sorted(put.items()):
        answer = api(f"add map {path} {key} {value}")
        if answer.strip():
            raise RouterUnavailable(f"HAProxy refused a change to {path.name}: {answer.strip()}")


def _check_token(value: str) -> None:
    # Tokens are base64url (RFC 8555 section 8.1): anything else could inject API commands.
    if not value or not all(c.isalnum() or c in "-_" for c in value):
        raise RouterUnavailable(f"not an ACME token: {value!r}")


def _quietly(api: Api, command: str) -> None:
    """Undo what may not have happened: an error here only means nothing to undo."""
    with contextlib.suppress(RouterUnavailable):
        api(command)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _write_secret(path: Path, data: str) -> None:
    """Write a key-bearing file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(path: Path):
    """Edit a line file under an exclusive lock (the runtime and ACME orders share maps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lines = [line for line in _read(path).splitlines() if line.strip()]
        yield lines
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text("".join(f"{line}\n" for line in lines))
        os.replace(tmp, path)
