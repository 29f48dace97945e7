"""The registry's token signing key: generated once into the data dir, trusted by the registry.

Docker Distribution verifies a token's signature with a key from its `rootcertbundle`,
found by the token header's `kid`: libtrust's key id of the public key (base32 of the
SHA-256 of its DER SubjectPublicKeyInfo, 240 bits, in 12 groups of 4).
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

ISSUER = "pier"
# Short: a token cannot be revoked (a freed app name waits this long, see repositories.py).
TOKEN_TTL_SECONDS = 120


def key_paths(directory: Path) -> tuple[Path, Path]:
    return directory / "token.key", directory / "token.crt"


def keys_ensure(directory: Path) -> None:
    """Create the signing key (0600) and its self-signed certificate once; safe to repeat."""
    key_path, cert_path = key_paths(directory)
    if key_path.exists() and cert_path.exists():
        return
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Pier registry token signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(public_key) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def token_sign(directory: Path, *, service: str, subject: str, access: list[dict],
               ttl: int = TOKEN_TTL_SECONDS) -> str:
    """Return a signed JWT (ES256) granting ``access`` on ``service`` for ``ttl`` seconds."""
    key_path, _ = key_paths(directory)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    now = int(time.time())
    header = {"typ": "JWT", "alg": "ES256", "kid": key_id(key.public_key())}
    claims = {"iss": ISSUER, "sub": subject, "aud": service, "iat": now, "nbf": now - 10,
              "exp": now + ttl, "jti": secrets.token_hex(16), "access": access}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)  # JWS wants the raw r || s, not DER
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

