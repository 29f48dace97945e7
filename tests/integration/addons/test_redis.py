"""A Redis add-on for real: REDIS_URL, SET/GET from an attached app, password required."""

import pytest

from addons.container import desired
from addons.services import services
from api.selectors import config_current
from api.services import addons

pytestmark = pytest.mark.django_db(transaction=True)


def test_set_get_from_an_attached_app(make_app, run_in, user):
    app = make_app("rdapp")
    addon = addons.addon_create(app=app, user=user, service="redis")
    url = config_current(app=app).values["REDIS_URL"]
    assert url.startswith("redis://default:") and url.endswith(f"@{addon.name}:6379")
    code, out = run_in(app, 'redis-cli -u "$REDIS_URL" --no-auth-warning SET k v && '
                            'redis-cli -u "$REDIS_URL" --no-auth-warning GET k')
    assert code == 0 and out.split() == ["OK", "v"]
    code, out = run_in(app, f"redis-cli -h {addon.name} -e GET k")
    assert code != 0 and "NOAUTH" in out


def test_rotate_credentials_keeps_the_data_and_survives_a_restart(
        make_app, run_in, user, addons_engine):
    app = make_app("rdrotate")
    addon = addons.addon_create(app=app, user=user, service="redis")
    old_url = config_current(app=app).values["REDIS_URL"]
    assert run_in(app, 'redis-cli -u "$REDIS_URL" --no-auth-warning SET k kept')[0] == 0
    addons.addon_credentials_rotate(addon=addon, user=user)
    new_url = config_current(app=app).values["REDIS_URL"]
    assert new_url != old_url
    assert "Rotate the credentials" in app.releases.first().description
    # Docker restarting the container must not bring the old password back.
    addons_engine.client.containers.get(desired(addon).resource).restart()
    addon.refresh_from_db()
    ready = services()["redis"].ready_command(credentials=addon.credentials)
    addons_engine.wait_until(desired(addon), ready, 30)
    code, out = run_in(app, 'redis-cli -u "$REDIS_URL" --no-auth-warning GET k')
    assert (code, out.strip()) == (0, "kept")
    code, out = run_in(app, f'redis-cli -u "{old_url}" --no-auth-warning GET k')
    assert "WRONGPASS" in out or "NOAUTH" in out
