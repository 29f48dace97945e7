"""HTTPS certificates of apps: the user's own (SNI), or Automated Certificate Management;
and the control plane's own ACME certificate for PIER_API_HOST (the row without an app).

The router serves whatever certificate row holds a chain; the runtime hands it over
through the desired state (the control plane's through ``control_plane_bundle``). ACME
orders run on the Celery worker (``api.certs_issue``), never in a request. A failed order
keeps the previous certificate (if any) serving and backs off before the next attempt.
"""

import datetime
import logging

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api import acme_client
from api.errors import Conflict, Invalid, NotFound
from api.models import App, Certificate
from api.nudge import runtime_nudge_on_commit
from api.pem import covers, parse_certificate
from logs.events import event_log
from pier import runtime_config

log = logging.getLogger(__name__)

RENEW_BEFORE = datetime.timedelta(days=30)
BACKOFF_FIRST = datetime.timedelta(minutes=5)
BACKOFF_MAX = datetime.timedelta(hours=24)


def app_hosts(*, app: App) -> list[str]:
    """Every host name the app is served at: its default host, then its custom domains."""
    return [f"{app.name}.{settings.PIER_DOMAIN}",
            *app.domains.values_list("hostname", flat=True)]


def certificate_hosts(cert: Certificate) -> list[str]:
    """The hosts a certificate is ordered for: its app's, or the control plane's."""
    return app_hosts(app=cert.app) if cert.app else [settings.PIER_API_HOST]


def control_plane_bundle() -> str:
    """The control plane's ACME certificate (chain, key) the router serves, "" until issued."""
    cert = Certificate.objects.filter(app=None).first()
    return cert.bundle if cert else ""


def control_plane_status() -> dict | None:
    """The state of the control plane's ACME certificate; None when ACME is not used for it
    (no PIER_API_HOST, no HTTPS, or the operator's files)."""
    if not runtime_config.api_acme():
        return None
    cert = Certificate.objects.filter(app=None).first() or Certificate()
    return {"host": settings.PIER_API_HOST, "state": cert.state, "issuer": cert.issuer,
            "not_after": cert.not_after.isoformat() if cert.not_after else None,
            "last_error": cert.last_error}


def certificate_status(*, app: App) -> dict:
    """Read the certificate and, for each of the app's hosts, whether HTTPS serves it."""
    cert = Certificate.objects.filter(app=app).first()
    hosts = app_hosts(app=app)
    if cert is None:
        return {"acm": False, "source": None, "state": None, "issuer": "", "not_after": None,
                "last_error": "", "https_redirect": app.https_redirect,
                "domains": [{"hostname": h, "status": "none"} for h in hosts]}
    return {
        "acm": cert.source == Certificate.Source.ACME,
        "source": cert.source,
        "state": cert.state,
        "issuer": cert.issuer,
        "not_after": cert.not_after.isoformat() if cert.not_after else None,
        "last_error": cert.last_error,
        "https_redirect": app.https_redirect,
        "domains": [{"hostname": h, "status": _host_status(cert, h)} for h in hosts],
    }


def _host_status(cert: Certificate, host: str) -> str:
    if cert.state == Certificate.State.FAILING:
        return "failing"
    if covers(cert.domains, host) and cert.chain_pem:
        return "issued"
    return "pending" if cert.source == Certificate.Source.ACME else "not covered"


def https_redirect_set(*, app: App, enabled: bool) -> App:
    """Turn the app's HTTP to HTTPS redirect on or off (it applies to hosts with a
    certificate only); the router follows on the runtime's next pass, without a reload."""
    if not isinstance(enabled, bool):
        raise Invalid("enabled must be true or false")
    App.objects.filter(pk=app.pk).update(https_redirect=enabled, updated_at=timezone.now())
    app.https_redirect = enabled
    runtime_nudge_on_commit()
    return app


def certificate_add(*, app: App, chain_pem: str, key_pem: str) -> Certificate:
    """Serve the user's own certificate for the app (replacing ACME, if it was on)."""
    parsed = parse_certificate(chain_pem=chain_pem, key_pem=key_pem)
    hosts = app_hosts(app=app)
    if not any(covers(parsed.names, host) for host in hosts):
        raise Invalid(f"the certificate is for {', '.join(parsed.names) or 'no host name'}, "
                      f"none of {app.name}'s domains ({', '.join(hosts)}): add the domain "
                      "first with `pier domains:add`")
    with transaction.atomic():
        cert, _ = Certificate.objects.update_or_create(app=app, defaults=dict(
            source=Certificate.Source.MANUAL, state=Certificate.State.ISSUED,
            chain_pem=parsed.chain_pem, key_pem=parsed.key_pem, domains=list(parsed.names),
            issuer=parsed.issuer, not_after=parsed.not_after, last_error="", failures=0,
            next_attempt_at=None))
        runtime_nudge_on_commit()
    return cert


def certificate_remove(*, app: App) -> None:
    deleted, _ = Certificate.objects.filter(app=app).delete()
    if not deleted:
        raise NotFound(f"{app.name} has no certificate: see `pier certs`")
    runtime_nudge_on_commit()


def acm_enable(*, app: App) -> Certificate:
    """Turn on Automated Certificate Management: an order is queued at once."""
    with transaction.atomic():
        cert, created = Certificate.objects.select_for_update().get_or_create(
            app=app, defaults=dict(source=Certificate.Source.ACME))
        if cert.source == Certificate.Source.MANUAL:
            raise Conflict(f"{app.name} serves its own certificate: remove it first with "
                           "`pier certs:remove`")
        if created or cert.state == Certificate.State.FAILING:
            cert.failures, cert.next_attempt_at = 0, timezone.now()
            cert.save(update_fields=["failures", "next_attempt_at", "updated_at"])
            _queue(cert)
    return cert


def acm_disable(*, app: App) -> None:
    deleted, _ = Certificate.objects.filter(app=app, source=Certificate.Source.ACME).delete()
    if not deleted:
        raise NotFound(f"Automated Certificate Management is not enabled for {app.name}")
    runtime_nudge_on_commit()


def certificate_issue(*, certificate_id: int) -> Certificate | None:
    """Run one ACME order for the certificate's hosts; record it or why it failed."""
    cert = Certificate.objects.select_related("app").filter(
        pk=certificate_id, source=Certificate.Source.ACME).first()
    if cert is None:
        return None  # ACM was turned off meanwhile
    # A lease: the periodic check leaves this order alone while it runs.
    Certificate.objects.filter(pk=cert.pk).update(next_attempt_at=timezone.now() + BACKOFF_FIRST)
    hosts = certificate_hosts(cert)
    key_pem = _new_key_pem()
    router = runtime_config.router()
    try:
        chain = acme_client.order_certificate(
            directory=settings.PIER_ACME_DIRECTORY, email=settings.PIER_ACME_EMAIL,
            key_file=settings.PIER_DATA_DIR / "acme-account.json",
            ca_bundle=settings.PIER_ACME_CA_BUNDLE, domains=hosts, cert_key_pem=key_pem,
            publish=router.add_challenge, withdraw=router.remove_challenge)
        parsed = parse_certificate(chain_pem=chain, key_pem=key_pem)
    except (acme_client.AcmeFailed, Invalid) as e:
        return _failed(cert, str(e))
    updated = Certificate.objects.filter(pk=cert.pk, source=Certificate.Source.ACME).update(
        state=Certificate.State.ISSUED, chain_pem=parsed.chain_pem, key_pem=parsed.key_pem,
        domains=list(parsed.names), issuer=parsed.issuer, not_after=parsed.not_after,
        last_error="", failures=0, next_attempt_at=_renew_at(parsed), updated_at=timezone.now())
    if updated:
        runtime_nudge_on_commit()
        _event(cert, f"Certificate issued by {parsed.issuer} for {', '.join(hosts)}, "
                     f"valid until {parsed.not_after:%Y-%m-%d %H:%M} UTC")
    cert.refresh_from_db()
    return cert


def certificates_renew_due() -> int:
    """Queue an order for every ACME certificate due (or whose hosts changed), the control
    plane's included; log expired certificates. Returns how many orders were queued."""
    _control_plane_row()
    now = timezone.now()
    queued = 0
    for cert in Certificate.objects.select_related("app"):
        if cert.source == Certificate.Source.MANUAL:
            _check_expiry(cert, now)
            continue
        stale = sorted(cert.domains) != sorted(certificate_hosts(cert))
        if (cert.next_attempt_at is None or cert.next_attempt_at <= now
                or (stale and cert.state != Certificate.State.FAILING)):
            _queue(cert)
            queued += 1
    return queued


def _control_plane_row() -> None:
    """Create the control plane's ACME row when it should have one (due at once), drop it
    when not (the operator gave files, or PIER_API_HOST is gone)."""
    if runtime_config.api_acme():
        Certificate.objects.get_or_create(app=None, defaults=dict(source=Certificate.Source.ACME))
    elif Certificate.objects.filter(app=None).delete()[0]:
        runtime_nudge_on_commit()


def _queue(cert: Certificate) -> None:
    from api.tasks import certs_issue_task

    transaction.on_commit(lambda: certs_issue_task.delay(cert.pk))


def _failed(cert: Certificate, error: str) -> Certificate:
    failures = cert.failures + 1
    backoff = min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_MAX)
    Certificate.objects.filter(pk=cert.pk).update(
        state=Certificate.State.FAILING, last_error=error, failures=failures,
        next_attempt_at=timezone.now() + backoff, updated_at=timezone.now())
    serving = " (the current certificate keeps serving)" if cert.chain_pem else ""
    _event(cert, f"Certificate order failed{serving}, next try in "
                 f"{int(backoff.total_seconds() // 60)} min: {error}")
    cert.refresh_from_db()
    return cert


def _event(cert: Certificate, message: str) -> None:
    """An app's certificate events go to its log; the control plane's to the worker's."""
    if cert.app:
        event_log(app_id=cert.app.id, dyno="certs", message=message)
    else:
        log.info("%s: %s", settings.PIER_API_HOST, message)


def _check_expiry(cert: Certificate, now: datetime.datetime) -> None:
    if cert.not_after and cert.not_after <= now and cert.state != Certificate.State.FAILING:
        error = f"expired on {cert.not_after:%Y-%m-%d}: add a renewed one with `pier certs:add`"
        Certificate.objects.filter(pk=cert.pk).update(state=Certificate.State.FAILING,
                                                      last_error=error)
        event_log(app_id=cert.app.id, dyno="certs", message=f"Certificate {error}")


def _renew_at(parsed) -> datetime.datetime:
    """30 days before expiry; at 2/3 of the lifetime for certificates shorter-lived than 90."""
    lifetime = parsed.not_after - parsed.not_before
    if lifetime < 3 * RENEW_BEFORE:
        return parsed.not_before + lifetime * 2 / 3
    return parsed.not_after - RENEW_BEFORE


def _new_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
