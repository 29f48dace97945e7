"""Every way into the API (DRF, async views, git, the WebSocket) judges a token alike."""

import base64
import json

import httpx
import pytest
from websockets.sync.client import connect

from api.authentication import INVALID, MISSING
from api.services.apps import app_create

BAD = {"Authorization": "Bearer pier_not_a_token"}


@pytest.fixture
def served(asgi_server, user):
    app_create(user=user, name="gate")
    return asgi_server


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/apps"), ("GET", "/api/apps/gate/log-stream"),
     ("POST", "/api/apps/gate/dynos/run")],
)
@pytest.mark.parametrize(("headers", "message"), [({}, MISSING), (BAD, INVALID)])
def test_api_views_refuse_alike(served, method, path, headers, message):
    response = httpx.request(method, served + path, headers=headers, json={"command": "ls"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"id": "unauthorized", "message": message}


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, MISSING),
     ({"Authorization": "Basic " + base64.b64encode(b"x:pier_bad").decode()}, INVALID)],
)
def test_git_refuses_alike_in_plain_text(served, headers, message):
    url = f"{served}/gate.git/info/refs?service=git-receive-pack"
    response = httpx.get(url, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Pier"'
    assert response.text == message + "\n"


def test_git_takes_the_token_as_the_password(served, user):
    secret = base64.b64encode(f"git:{user.plaintext_token}".encode()).decode()
    url = f"{served}/gate.git/info/refs?service=git-receive-pack"
    response = httpx.get(url, headers={"Authorization": f"Basic {secret}"})
    assert response.status_code == 200, response.text


def test_the_websocket_refuses_alike(served):
    url = served.replace("http", "ws") + "/api/apps/gate/dynos/attach"
    with connect(url, additional_headers=BAD) as ws:
        ws.send(json.dumps({"command": "ls"}))
        answer = json.loads(ws.recv(timeout=10))
    assert answer == {"error": INVALID, "id": "unauthorized", "status": 401}


def test_a_missing_app_is_not_found_on_every_way_in(served, user):
    auth = {"Authorization": f"Bearer {user.plaintext_token}"}
    for path in ("/api/apps/nope", "/api/apps/nope/log-stream"):
        response = httpx.get(served + path, headers=auth)
        assert response.status_code == 404
        assert response.json()["id"] == "not_found"
