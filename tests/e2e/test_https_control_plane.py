"""The control plane on PIER_API_HOST behind the real router, over HTTPS: the CLI and a real
`git push` verify the certificate against a CA made here, and the push builds and releases.

The whole platform runs (`manage.py up`) with PIER_API_HOST=localhost (a name every
resolver and curl know) and the operator's certificate files; the CLI and git reach it
only at https://localhost:<PIER_ROUTER_HTTPS_PORT>, never the control plane's own port.
"""

import datetime
import os
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.e2e.conftest import platform_running
from tests.helpers import free_port, git

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca_and_server_cert(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for ``host`` it signed: (ca.crt, server.crt, server.key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pier test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
              .issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1))
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    for path, data in zip(paths, (_pem(ca), _pem(server), _pem(key)), strict=True):
        path.write_bytes(data)
    return paths


@pytest.fixture(scope="module")
def https_platform(tmp_path_factory):
    ca, crt, key = make_ca_and_server_cert(tmp_path_factory.mktemp("pier-https-ca"),
                                           "localhost")
    https_port = free_port()
    with platform_running(tmp_path_factory, "pier-https", DATABASE_URL=None,
                          PIER_ROUTER_HTTPS_PORT=str(https_port), PIER_API_HOST="localhost",
                          PIER_API_CERT_FILE=str(crt), PIER_API_KEY_FILE=str(key)) as platform:
        platform.https_url, platform.ca = f"https://localhost:{https_port}", ca
        _wait_for_https(platform)
        yield platform


def trusting(ca: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca))


def _wait_for_https(platform) -> None:
    """The runtime installs the control plane's certificate on its first pass."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(platform.https_url + "/api/health", verify=trusting(platform.ca), timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.5)
    pytest.fail("the control plane never answered over HTTPS with its certificate:\n"
                + platform.output.read_text()[-3000:])


def pier_cli(platform, tmp_path: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the real `pier` command, trusting only the test CA (as a user's machine would)."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "SSL_CERT_FILE": str(platform.ca)}
    for name in ("PIER_API_URL", "PIER_API_KEY", "SSL_CERT_DIR"):
        env.pop(name, None)
    return subprocess.run([str(Path(sys.executable).with_name("pier")), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_plain_http_redirects_and_https_answers_with_hsts_and_secure_cookies(https_platform):
    plain = httpx.get(f"http://127.0.0.1:{https_platform.router_port}/login?next=/x",
                      headers={"Host": "localhost"})
    assert plain.status_code == 301
    assert plain.headers["location"] == https_platform.https_url + "/login?next=/x"
    secure = httpx.get(https_platform.https_url + "/login", verify=trusting(https_platform.ca))
    assert secure.status_code == 200
    assert secure.headers["strict-transport-security"].startswith("max-age=")
    assert "secure" in secure.headers["set-cookie"].lower()  # the CSRF cookie
    with pytest.raises(httpx.ConnectError):  # not trusted without the CA
        httpx.get(https_platform.https_url + "/api/health", verify=True)
    # The control plane's own port stays plain HTTP for local use, without HSTS.
    local = httpx.get(https_platform.url + "/api/health")
    assert local.status_code == 200 and "strict-transport-security" not in local.headers


def test_cli_and_git_push_over_https(https_platform, app_repo, tmp_path, monkeypatch):
    # This machine names its proxy's CA for git in the environment, which beats the config.
    monkeypatch.delenv("GIT_SSL_CAINFO", raising=False)
    repo = app_repo("static")
    url = https_platform.https_url
    login = pier_cli(https_platform, tmp_path, "login", "--api-url", url,
                     "--token", https_platform.token, cwd=repo)
    assert login.returncode == 0, login.stdout + login.stderr
    app = f"tls-{uuid.uuid4().hex[:6]}"
    created = pier_cli(https_platform, tmp_path, "apps:create", app, cwd=repo)
    assert created.returncode == 0, created.stdout + created.stderr
    remote = git("remote", "get-url", "pier", cwd=repo).stdout.strip()
    assert remote == f"{url}/{app}.git"

    helper = f"!f() {{ echo username=x; echo password={https_platform.token}; }}; f"
    pushed = git("-c", f"http.sslCAInfo={https_platform.ca}", "-c", "credential.helper=",
                 "-c", f"credential.helper={helper}", "push", "pier", "HEAD:main",
                 cwd=repo, check=False)
    assert pushed.returncode == 0, pushed.stderr
    assert "remote:        Released v2" in pushed.stderr
    served = httpx.get(f"http://127.0.0.1:{https_platform.router_port}/",
                       headers={"Host": f"{app}.localhost"}, timeout=10)
    assert "static ok" in served.text
    # git refuses the control plane when it cannot verify the certificate.
    unverified = git("-c", "http.sslCAInfo=/dev/null", "ls-remote", "pier", cwd=repo,
                     check=False)
    assert unverified.returncode != 0 and "certificate" in unverified.stderr.lower()
