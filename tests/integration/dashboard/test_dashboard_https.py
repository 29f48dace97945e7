"""The Settings page's HTTPS section: each domain's certificate state, ACM and redirects."""

import datetime

from django.urls import reverse
from django.utils import timezone

from api.models import App, Certificate
from api.services.domains import domain_add


def url(name: str, **kwargs) -> str:
    return reverse(f"dashboard:{name}", kwargs=kwargs)


def https_section(web) -> str:
    page = web.get(url("settings", app="shop")).content.decode()
    return page.split('id="https"', 1)[1].split("</section>", 1)[0]


def test_domains_with_their_certificate_state_and_acm_switch(web, app):
    domain_add(app=app, hostname="www.example.test")
    section = https_section(web)
    assert "shop.localhost" in section and "www.example.test" in section
    assert "No certificate yet" in section and "Turn Automated Certificate Management on" in section

    answer = web.post(url("certs-acm", app="shop"), {"enabled": "on"}, follow=True)
    assert "Automated Certificate Management is on" in answer.content.decode()
    cert = Certificate.objects.get(app=app)
    assert cert.source == "acme"
    section = https_section(web)
    assert section.count(">pending<") == 2
    assert "Turn Automated Certificate Management off" in section

    Certificate.objects.filter(pk=cert.pk).update(
        state="failing", last_error="CA said <no>: DNS problem: NXDOMAIN looking up A")
    section = https_section(web)
    assert section.count(">failing<") == 2
    assert "CA said &lt;no&gt;: DNS problem: NXDOMAIN" in section

    expires = timezone.now() + datetime.timedelta(days=60)
    Certificate.objects.filter(pk=cert.pk).update(
        state="issued", last_error="", chain_pem="x", key_pem="y", not_after=expires,
        domains=["shop.localhost"], issuer="CN=Pebble Intermediate CA")
    section = https_section(web)
    assert ">issued<" in section and ">pending<" in section  # the custom domain is not in it
    assert f"{expires:%Y-%m-%d %H:%M} UTC" in section and "Pebble Intermediate CA" in section

    web.post(url("certs-acm", app="shop"), {"enabled": "off"})
    assert not Certificate.objects.filter(app=app).exists()
    assert "No certificate yet" in https_section(web)


def test_redirect_switch(web, app):
    assert "redirected to HTTPS" in https_section(web)
    web.post(url("certs-redirect", app="shop"), {"enabled": "off"})
    assert App.objects.get(pk=app.pk).https_redirect is False
    assert "served as it is" in https_section(web)
    web.post(url("certs-redirect", app="shop"), {"enabled": "on"})
    assert App.objects.get(pk=app.pk).https_redirect is True


def test_acm_refused_while_the_apps_own_certificate_serves(web, app):
    Certificate.objects.create(app=app, source="manual", state="issued")
    answer = web.post(url("certs-acm", app="shop"), {"enabled": "on"}, follow=True)
    assert "serves its own certificate" in answer.content.decode()
    assert Certificate.objects.get(app=app).source == "manual"
    assert web.post(url("certs-acm", app="shop"), {"enabled": "maybe"}).status_code == 302


def test_other_users_cannot_switch(client, app, make_user):
    client.force_login(make_user("stranger@example.com"))
    assert client.post(url("certs-acm", app="shop"), {"enabled": "on"}).status_code == 404
    assert client.post(url("certs-redirect", app="shop"), {"enabled": "off"}).status_code == 404
    assert not Certificate.objects.exists() and App.objects.get(pk=app.pk).https_redirect
