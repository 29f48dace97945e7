"""Finding 5: password guessing. The API login throttle keyed on a client-sent X-Forwarded-For
in per-process memory, and the dashboard login had no throttle at all."""

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def throttle(redis_client, settings):
    """Real Redis, cleared of earlier counters; small limits so the tests stay short."""
    for key in redis_client.scan_iter("pier:login-fails:*"):
        redis_client.delete(key)
    settings.PIER_LOGIN_MAX_ATTEMPTS = 5
    settings.PIER_LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 10
    settings.PIER_LOGIN_WINDOW_SECONDS = 600
    settings.PIER_TRUSTED_PROXIES = ""
    return redis_client


def _api_login(email: str, password: str, forwarded_for: str | None = None, peer="127.0.0.1"):
    extra = {"REMOTE_ADDR": peer}
    if forwarded_for:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return APIClient().post(
        "/api/login", {"email": email, "password": password}, format="json", **extra
    )


def test_rotating_x_forwarded_for_does_not_escape_the_address_limit(db):
    codes = [
        _api_login(f"guess{i}@example.com", "wrong", forwarded_for=f"203.0.113.{i}").status_code
        for i in range(25)
    ]
    assert codes[:10] == [422] * 10
    assert codes[10:] == [429] * 15


def test_a_refusal_is_a_clear_429_with_retry_after(db):
    for _ in range(10):
        _api_login("someone@example.com", "wrong", peer=f"198.51.100.{_}")
    response = _api_login("someone@example.com", "wrong", peer="198.51.100.99")
    assert response.status_code == 429
    assert response.json()["id"] == "rate_limited"
    assert "too many failed logins" in response.json()["message"]
    assert 0 < int(response["Retry-After"]) <= 600


def test_the_account_limit_holds_across_addresses_and_spares_other_accounts(make_user):
    make_user("target@example.com")
    make_user("bystander@example.com")
    for i in range(5):
        assert _api_login("target@example.com", "wrong", peer=f"192.0.2.{i}").status_code == 422
    assert _api_login("Target@Example.com", "wrong", peer="192.0.2.77").status_code == 429
    # The right password is refused too while the window lasts: guessing must not pay off.
    assert _api_login("target@example.com", PASSWORD, peer="192.0.2.78").status_code == 429
    assert _api_login("bystander@example.com", PASSWORD, peer="192.0.2.79").status_code == 201


def test_the_right_password_works_again_once_the_window_passes(make_user, settings, throttle):
    settings.PIER_LOGIN_WINDOW_SECONDS = 1
    make_user("patient@example.com")
    for i in range(5):
        _api_login("patient@example.com", "wrong", peer=f"192.0.2.{i}")
    assert _api_login("patient@example.com", PASSWORD, peer="192.0.2.9").status_code == 429
    while any(throttle.exists(k) for k in throttle.scan_iter("pier:login-fails:account:*")):
        time.sleep(0.1)  # wait for Redis to end the window: a state, not a duration
    assert _api_login("patient@example.com", PASSWORD, peer="192.0.2.9").status_code == 201


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(db, settings):
    settings.PIER_TRUSTED_PROXIES = "10.0.0.0/8, 127.0.0.1/32"
    # Behind the trusted proxy each forwarded client has its own budget...
    for i in range(12):
        response = _api_login(f"u{i}@example.com", "wrong", forwarded_for=f"203.0.113.{i}")
        assert response.status_code == 422
    # ...and a client cannot hide behind a forged hop in front of the proxy's own entry.
    forged = [
        _api_login(f"v{i}@example.com", "wrong", forwarded_for=f"1.2.3.{i}, 203.0.113.200")
        for i in range(11)
    ]
    assert [r.status_code for r in forged][-1] == 429


def test_the_dashboard_login_is_throttled_and_says_so(make_user):
    make_user("web@example.com")
    browser = Client(REMOTE_ADDR="192.0.2.50")
    for _ in range(5):
        response = browser.post("/login", {"username": "web@example.com", "password": "nope"})
        assert response.status_code == 200 and b"Wrong email or password" in response.content
    response = browser.post("/login", {"username": "web@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert b"too many failed logins" in response.content
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in browser.session
    # The API shares the counters: the same account is refused there too.
    assert _api_login("web@example.com", PASSWORD, peer="192.0.2.51").status_code == 429
