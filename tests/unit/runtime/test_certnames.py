"""Which hosts a certificate serves: wildcards of one label, and only while it is valid."""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from runtime.certnames import covered_hosts


def pem(names: list[str], days: int) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_covered_hosts_with_wildcards():
    bundle = pem(["app.localhost", "*.example.test"], days=30)
    hosts = ["app.localhost", "www.example.test", "a.b.example.test", "example.test"]
    assert covered_hosts(bundle, hosts) == ["app.localhost", "www.example.test"]


def test_an_expired_or_broken_certificate_covers_nothing():
    assert covered_hosts(pem(["app.localhost"], days=-1), ["app.localhost"]) == []
    assert covered_hosts("not a certificate", ["app.localhost"]) == []
