"""`pier webhooks*`, `pier cron*`, `pier pipelines*` against the real API (live_server)."""

import json

from api.models import App
from api.services.cron import cron_sync

# Tasks queue on the test's Redis (cron:run queues its run there).
from tests.integration.devloop.conftest import devloop_broker  # noqa: F401


def _ok(result):
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
    return result.output


def test_webhooks_commands(pier, settings):
    settings.PIER_OUTBOUND_ALLOW = "127.0.0.0/8"
    _ok(pier("apps:create", "hooks-cli"))
    added = _ok(pier("webhooks:add", "--include", "api:build,api:release,dyno", "--url",
                     "http://127.0.0.1:9/pier", "-a", "hooks-cli"))
    assert "Added webhook" in added and "Secret (shown once):" in added
    rows = json.loads(pier("webhooks", "-a", "hooks-cli", "--json").stdout)
    assert rows[0]["include"] == ["api:build", "api:release", "dyno"]
    assert "No webhook deliveries" in _ok(pier("webhooks:deliveries", "-a", "hooks-cli"))
    _ok(pier("webhooks:remove", rows[0]["id"], "-a", "hooks-cli"))
    assert "has no webhooks" in _ok(pier("webhooks", "-a", "hooks-cli"))

    settings.PIER_OUTBOUND_ALLOW = ""
    refused = pier("webhooks:add", "-i", "dyno", "-u", "http://127.0.0.1:9/", "-a", "hooks-cli")
    assert refused.exit_code != 0 and "is a loopback address" in refused.output


def test_cron_commands(pier, deployed, devloop_broker):  # noqa: F811
    _ok(pier("apps:create", "cron-cli"))
    deployed("cron-cli")
    cron_sync(app=App.objects.get(name="cron-cli"),
              jobs=[{"command": "python report.py", "schedule": "*/10 * * * *"}])
    jobs = json.loads(pier("cron", "-a", "cron-cli", "--json").stdout)
    assert [(j["schedule"], j["command"], j["running"]) for j in jobs] == [
        ("*/10 * * * *", "python report.py", False)]
    assert "python report.py" in _ok(pier("cron", "-a", "cron-cli"))
    assert "Running `python report.py`" in _ok(pier("cron:run", jobs[0]["id"], "-a", "cron-cli"))
    again = pier("cron:run", jobs[0]["id"], "-a", "cron-cli")
    assert again.exit_code != 0 and "one run at a time" in again.output
    missing = pier("cron:run", "nope", "-a", "cron-cli")
    assert missing.exit_code != 0 and "no scheduled job nope" in missing.output


def test_pipelines_commands(pier, deployed):
    for name in ("shop-staging", "shop-prod"):
        _ok(pier("apps:create", name))
    deployed("shop-staging")
    deployed("shop-prod")
    _ok(pier("pipelines:create", "shop", "-a", "shop-staging", "--stage", "staging"))
    _ok(pier("pipelines:add", "shop", "-a", "shop-prod", "--stage", "production"))
    shown = _ok(pier("pipelines", "shop"))
    assert "shop-staging" in shown and "shop-prod" in shown and "v2 Deploy" in shown
    last = pier("pipelines:promote", "-a", "shop-prod")
    assert last.exit_code != 0 and "nothing to promote to" in last.output
