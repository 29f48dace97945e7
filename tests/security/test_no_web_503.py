"""An app that exists but runs nothing answers 503 "no running web processes", not 404.

The desired state comes from the database, a real Docker backend reports what runs, and a
real HAProxy answers.
"""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from api.desired import desired_state
from api.models import Release
from api.services.apps import app_create
from runtime.backends.docker import Backend
from runtime.reconciler import Reconciler
from runtime.router.haproxy import Router

pytestmark = pytest.mark.docker


@pytest.fixture
def haproxy(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = dict(state_dir=tmp_path / "state", listen=f"127.0.0.1:{port}",
                   access_log=str(tmp_path / "access.log"))
    with open(tmp_path / "haproxy.log", "wb") as log:
        process = Router(**options).start(stderr=log)
        yield Router(**options), port
        process.terminate()
        process.wait(10)


def get(port: int, host: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": host})


def test_app_without_a_running_release_answers_503_saying_what_to_do(
    db, user, deployed, haproxy
):
    router, port = haproxy
    app_create(user=user, name="secf-new")  # never deployed
    app_create(user=user, name="secf-failed")
    deployed("secf-failed")
    Release.objects.filter(app__name="secf-failed").update(status=Release.Status.FAILED)
    backend = Backend(labels={"pier.platform": f"secf-{uuid.uuid4().hex[:8]}"})
    Reconciler(backend, router).reconcile(desired_state())

    for app in ("secf-new", "secf-failed"):
        page = get(port, f"{app}.localhost")
        assert page.status_code == 503
        assert f"{app} has no running web processes: deploy with <code>git push</code> or " \
               "scale with <code>pier ps:scale web=1</code>" in page.text
    assert get(port, "nope.localhost").status_code == 404
