"""The terminal WebSocket through the real ASGI server, with a real container."""

import json

import pytest
from websockets.sync.client import connect

from tests.helpers import terminal_output

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker]


@pytest.fixture
def busybox_app(user, test_image, docker_client):
    from api.models import Build
    from api.selectors import config_current
    from api.services.apps import app_create
    from api.services.releases import release_create
    from pier.runtime_config import runtime_backend

    runtime_backend().ensure_network()
    app = app_create(user=user, name="term")
    build = Build.objects.create(app=app, status="succeeded", image=test_image,
                                 process_types={"web": "httpd -f -p $PORT"})
    release_create(app=app, build=build, config=config_current(app=app), description="Deploy",
                   user=user)
    return app


def session(asgi_server, token, first: dict):
    url = asgi_server.replace("http://", "ws://") + "/api/apps/term/dynos/attach"
    ws = connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None)
    ws.send(json.dumps(first))
    return ws


def test_keys_in_screen_out_and_exit_status(asgi_server, user, busybox_app):
    with session(asgi_server, user.plaintext_token,
                 {"command": "sh -c 'read x; echo got-$x; exit 3'"}) as ws:
        ws.send(b"hello\r")
        screen, code = terminal_output(ws)
    assert code == 3 and b"got-hello" in screen


def test_refusals_say_why(asgi_server, user, busybox_app, make_user):
    with session(asgi_server, "nope", {"command": "sh"}) as ws:
        assert json.loads(ws.recv(timeout=10))["status"] == 401
    stranger = make_user("stranger@example.com")
    with session(asgi_server, stranger.plaintext_token, {"command": "sh"}) as ws:
        assert json.loads(ws.recv(timeout=10))["status"] == 404
    with session(asgi_server, user.plaintext_token, {"command": ""}) as ws:
        assert json.loads(ws.recv(timeout=10))["status"] == 422
