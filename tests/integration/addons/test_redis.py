"""A Redis add-on for real: REDIS_URL, SET/GET from an attached app, password required."""

import pytest

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
