"""One ACME (RFC 8555) order with HTTP-01 challenges, through certbot's ``acme`` library.

Django-free: the caller gives the directory, the account key file, the names, the
certificate's key, and how to publish and withdraw a challenge answer (the router serves
them at ``/.well-known/acme-challenge/<token>``).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from pathlib import Path

import josepy as jose
from acme import challenges, client, crypto_util, errors, messages
from cryptography.hazmat.primitives.asymmetric import rsa

USER_AGENT = "pier-acme"
NONCE_ATTEMPTS = 3


class AcmeFailed(Exception):
    """The CA refused or could not validate the order; the message says why."""


def account_key(path: Path) -> jose.JWKRSA:
    """The platform's ACME account key, created (mode 0600) on first use."""
    if not path.exists():
        key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.json_dumps())
        os.replace(path.with_suffix(".tmp"), path)
    return jose.JWKRSA.json_loads(path.read_text())


def order_certificate(
    *, directory: str, email: str, key_file: Path, ca_bundle: str, domains: list[str],
    cert_key_pem: str, publish: Callable[[str, str], None], withdraw: Callable[[str], None],
    timeout: float = 90.0,
) -> str:
    """Order a certificate for ``domains``; return its full chain as PEM."""
    key = account_key(key_file)
    net = client.ClientNetwork(key, user_agent=USER_AGENT, verify_ssl=ca_bundle or True)
    for attempt in range(NONCE_ATTEMPTS):
        try:
            return _order(net, key, directory, email, domains, cert_key_pem, publish, withdraw,
                          timeout)
        except messages.Error as e:
            # CAs may reject any nonce (RFC 8555 6.5); the library retries a request once,
            # and a second rejection in a row ends up here: start the order again.
            if e.code != "badNonce" or attempt == NONCE_ATTEMPTS - 1:
                raise AcmeFailed(f"{directory}: {e.detail or e.typ}") from e
    raise AssertionError("unreachable")


def _order(net, key, directory, email, domains, cert_key_pem, publish, withdraw,
           timeout) -> str:
    try:
        acme = client.ClientV2(client.ClientV2.get_directory(directory, net), net=net)
        _register(acme, net, email)
        order = acme.new_order(crypto_util.make_csr(cert_key_pem.encode(), domains))
        tokens = []
        try:
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # validated recently: CAs reuse an authorization for a while
                challenge = _http01(authz)
                response, validation = challenge.response_and_validation(key)
                token = challenge.chall.encode("token")
                publish(token, validation)
                tokens.append(token)
                acme.answer_challenge(challenge, response)
            deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
            return acme.poll_and_finalize(order, deadline).fullchain_pem
        finally:
            for token in tokens:
                withdraw(token)
    except errors.ValidationError as e:
        raise AcmeFailed(_validation_errors(e)) from e
    except (errors.Error, OSError) as e:  # requests' errors are OSErrors
        raise AcmeFailed(f"{directory}: {e}") from e


def _register(acme: client.ClientV2, net: client.ClientNetwork, email: str) -> None:
    registration = messages.NewRegistration.from_data(
        email=email or None, terms_of_service_agreed=True)
    try:
        acme.new_account(registration)
    except errors.ConflictError as e:  # the key has an account already: use it
        net.account = messages.RegistrationResource(uri=e.location, body=messages.Registration())


def _http01(authz: messages.AuthorizationResource) -> messages.ChallengeBody:
    for challenge in authz.body.challenges:
        if isinstance(challenge.chall, challenges.HTTP01):
            return challenge
    raise AcmeFailed(f"the CA offers no http-01 challenge for {authz.body.identifier.value}")


def _validation_errors(error: errors.ValidationError) -> str:
    reasons = []
    for authz in error.failed_authzrs:
        for challenge in authz.body.challenges:
            if challenge.error:
                detail = challenge.error.detail or challenge.error.typ
                reasons.append(f"{authz.body.identifier.value}: {detail}")
    return "; ".join(reasons) or str(error)
