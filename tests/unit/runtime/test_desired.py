from __future__ import annotations

import pytest

from runtime.backends import available_backends, load_backend
from runtime.desired import DesiredApp, HealthCheck, ProcessSpec, desired_from_json, desired_to_json
from runtime.errors import ImproperlyConfigured, Invalid


def test_json_round_trip():
    app = DesiredApp(
        name="myapp",
        release=3,
        image="pier/myapp:7",
        env={"A": "b"},
        formation=(
            ProcessSpec("web", 2, "gunicorn app", memory_mb=256),
            ProcessSpec("worker", 1, "celery"),
        ),
        domains=("www.example.test",),
        maintenance=True,
        healthcheck=HealthCheck(boot_timeout=10),
    )
    assert desired_from_json(desired_to_json([app])) == [app]


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"apps": {}}',
        '[{"name": "Bad_Name", "release": 1, "image": "x"}]',
        '[{"name": "myapp", "release": 0, "image": "x"}]',
        '[{"name": "myapp", "release": 1, "image": "x", "formation": [{"type": "web",'
        ' "quantity": -1}]}]',
        '[{"name": "myapp", "release": 1, "image": "x", "colour": "red"}]',
        '[{"name": "myapp", "release": 1, "image": "x"},'
        ' {"name": "myapp", "release": 2, "image": "y"}]',
    ],
)
def test_invalid_desired_state_is_refused(text):
    with pytest.raises(Invalid):
        desired_from_json(text)


def test_unknown_backend_lists_the_real_ones():
    with pytest.raises(ImproperlyConfigured) as e:
        load_backend("runtime.backends.nomad.Backend")
    assert "runtime.backends.docker.Backend" in str(e.value)
    assert "runtime.backends.memory.Backend" in available_backends()
    assert load_backend("runtime.backends.memory.Backend").list_processes() == []


def test_unknown_router_lists_only_routers():
    from runtime.router import available_routers, load_router

    with pytest.raises(ImproperlyConfigured) as e:
        load_router("runtime.router.nginx.Router")
    assert "runtime.router.haproxy.Router" in str(e.value)
    assert "runtime.router.pages.Router" not in available_routers()
    assert set(available_routers()) == {
        "runtime.router.caddy.Router",
        "runtime.router.haproxy.Router",
        "runtime.router.memory.Router",
    }
