"""Read and check a certificate chain and its key before anything serves them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from api.errors import Invalid
from runtime.certnames import covers, names

__all__ = ["MAX_PEM", "Parsed", "covers", "parse_certificate"]

MAX_PEM = 64 * 1024


@dataclass(frozen=True)
class Parsed:
    chain_pem: str  # re-encoded: leaf first, no text outside the PEM blocks
    key_pem: str  # PKCS#8, unencrypted
    names: tuple[str, ...]
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime


def parse_certificate(*, chain_pem: str, key_pem: str) -> Parsed:
    """Return the checked chain and key, or raise Invalid saying what is wrong with them."""
    if len(chain_pem or "") > MAX_PEM or len(key_pem or "") > MAX_PEM:
        raise Invalid(f"certificate and key must each be under {MAX_PEM // 1024} KB")
    try:
        chain = x509.load_pem_x509_certificates((chain_pem or "").encode())
    except ValueError as e:
        raise Invalid("the certificate is not a PEM certificate (a file starting with "
                      f"-----BEGIN CERTIFICATE-----): {e}") from None
    try:
        key = serialization.load_pem_private_key((key_pem or "").encode(), password=None)
    except (ValueError, TypeError) as e:
        raise Invalid("the key is not an unencrypted PEM private key (a file starting with "
                      f"-----BEGIN PRIVATE KEY-----): {e}") from None
    leaf = chain[0]
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if (leaf.public_key().public_bytes(serialization.Encoding.DER, spki)
            != key.public_key().public_bytes(serialization.Encoding.DER, spki)):
        raise Invalid("the key does not match the certificate: give the key the certificate "
                      "was issued for")
    now = datetime.datetime.now(datetime.UTC)
    if leaf.not_valid_after_utc <= now:
        raise Invalid(f"the certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}: "
                      "renew it first")
    return Parsed(
        chain_pem="".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
        key_pem=key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode(),
        names=names(leaf),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )
