"""pier certs:add / certs / certs:remove against the real API: what is refused and why."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.models import Certificate


def make_cert(tmp_path, name: str, hosts: list[str], *, days: int = 30, key=None,
              expired: bool = False) -> tuple[str, str]:
    """Write a self-signed certificate for ``hosts`` and a key; return both file paths."""
    cert_key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(days=2 * days if expired else 1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(cert_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hosts]),
                           critical=False)
            .sign(cert_key, hashes.SHA256()))
    crt, pem = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes((key or cert_key).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    return str(crt), str(pem)


def test_own_certificate_added_listed_and_removed(pier, tmp_path):
    assert pier("apps:create", "myapp").exit_code == 0
    pier("domains:add", "www.example.test", "-a", "myapp")
    crt, key = make_cert(tmp_path, "good", ["www.example.test"])
    added = pier("certs:add", crt, key, "-a", "myapp")
    assert added.exit_code == 0, added.output
    assert "Certificate added to myapp" in added.output
    listed = pier("certs", "-a", "myapp")
    assert "www.example.test" in listed.output and "issued" in listed.output
    assert "not covered" in listed.output  # myapp.localhost is not in this certificate
    stored = Certificate.objects.get(app__name="myapp")
    assert stored.source == "manual" and stored.key_pem.startswith("-----BEGIN PRIVATE KEY")
    assert pier("certs:auto:enable", "-a", "myapp").exit_code != 0  # remove it first
    assert pier("certs:remove", "-a", "myapp").exit_code == 0
    assert not Certificate.objects.exists()
    gone = pier("certs:remove", "-a", "myapp")
    assert gone.exit_code != 0 and "has no certificate" in gone.output


def test_bad_certificates_are_refused_and_the_old_one_stays(pier, tmp_path):
    assert pier("apps:create", "myapp").exit_code == 0
    crt, key = make_cert(tmp_path, "good", ["myapp.localhost"])
    assert pier("certs:add", crt, key, "-a", "myapp").exit_code == 0
    before = Certificate.objects.get().chain_pem

    other_key = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "does not match the certificate": make_cert(tmp_path, "mismatch", ["myapp.localhost"],
                                                    key=other_key),
        "expired on": make_cert(tmp_path, "old", ["myapp.localhost"], expired=True),
        "none of myapp's domains": make_cert(tmp_path, "other", ["other.example.test"]),
    }
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    cases["is not a PEM certificate"] = (str(garbage), key)
    for message, (bad_crt, bad_key) in cases.items():
        refused = pier("certs:add", bad_crt, bad_key, "-a", "myapp")
        assert refused.exit_code != 0 and message in refused.output, refused.output
    assert Certificate.objects.get().chain_pem == before


def test_redirect_switch_reaches_the_desired_state(pier, tmp_path):
    from api.desired import desired_state
    from api.models import App

    assert pier("apps:create", "myapp").exit_code == 0
    crt, key = make_cert(tmp_path, "good", ["myapp.localhost"])
    assert pier("certs:add", crt, key, "-a", "myapp").exit_code == 0
    assert "is redirected to HTTPS" in pier("certs", "-a", "myapp").output
    off = pier("certs:redirect:disable", "-a", "myapp")
    assert off.exit_code == 0 and "redirects disabled for myapp" in off.output
    assert App.objects.get(name="myapp").https_redirect is False
    assert [a.https_redirect for a in desired_state()] == [False]
    assert "not redirected" in pier("certs", "-a", "myapp").output
    assert pier("certs:redirect:enable", "-a", "myapp").exit_code == 0
    assert [a.https_redirect for a in desired_state()] == [True]
