"""Add-ons are reachable only from the apps attached to them.

- Another app's process cannot reach an add-on's container even by its IP address: the
  add-on's network is an internal bridge that only the add-on and attached apps join.
- An attached app's process cannot use the add-on's bridge to reach services on the host
  (its INPUT rule; without it, the bridge's gateway address is a way in).
- An add-on the user cannot see cannot be attached: 404, like a missing one.
- Nor can its client be opened (`pier pg:psql`): 404 too, and no credentials in the answer.
"""

import json
import socket
import threading

import pytest
from websockets.sync.client import connect

from addons.container import desired
from api.models import App
from api.services import addons
from tests.integration.addons import conftest as addon_fixtures

# The add-on integration tests' fixtures: real add-on containers and app one-offs.
addons_engine = addon_fixtures.addons_engine
make_app = addon_fixtures.make_app
run_in = addon_fixtures.run_in

pytestmark = pytest.mark.django_db(transaction=True)


def addon_ip(engine, addon) -> str:
    target = desired(addon)
    attrs = engine.client.api.inspect_container(target.resource)
    return attrs["NetworkSettings"]["Networks"][target.resource]["IPAddress"]


def test_unattached_app_cannot_reach_the_addon_by_address(make_app, run_in, user,
                                                          addons_engine):
    app = make_app("isoowner")
    stranger = make_app("isostranger")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    ip = addon_ip(addons_engine, addon)
    # Control: the attached app reaches that address and port.
    assert run_in(app, f"timeout 5 bash -c 'echo > /dev/tcp/{ip}/5432'")[0] == 0
    code, _ = run_in(stranger, f"timeout 5 bash -c 'echo > /dev/tcp/{ip}/5432'")
    assert code != 0


@pytest.fixture
def host_listener():
    """A TCP service on every address of the host, as Redis or PostgreSQL might be."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def test_attached_app_cannot_reach_the_host_through_the_addon_bridge(
        make_app, run_in, user, addons_engine, host_listener):
    port, accepted = host_listener
    app = make_app("isohost")
    addon = addons.addon_create(app=app, user=user, service="redis")
    network = addons_engine.client.networks.get(desired(addon).resource)
    gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
    code, _ = run_in(app, f"timeout 5 bash -c 'echo > /dev/tcp/{gateway}/{port}'")
    assert code != 0
    assert accepted == []


def test_cannot_attach_an_addon_of_someone_else(make_app, user, make_user, client_for):
    app = make_app("isovictim")
    addon = addons.addon_create(app=app, user=user, service="redis")
    mallory = make_user("mallory@example.com")
    App.objects.create(name="isomallory", owner=mallory)
    api = client_for(mallory)
    response = api.post("/api/apps/isomallory/addon-attachments", {"addon": addon.name},
                        format="json")
    assert response.status_code == 404
    assert api.get(f"/api/addons/{addon.name}").status_code == 404
    assert api.delete(f"/api/apps/isovictim/addons/{addon.name}?confirm=isovictim"
                      ).status_code == 404


def test_another_user_cannot_open_the_addon_shell(make_app, user, make_user, asgi_server):
    """`pier pg:psql` on someone else's app is refused like a missing app, before any process."""
    app = make_app("shellowner")
    addon = addons.addon_create(app=app, user=user, service="postgresql")
    stranger = make_user("shell-stranger@example.com")
    base = asgi_server.replace("http://", "ws://")
    for topic, token, status in (("pg", stranger.plaintext_token, 404),
                                 ("redis", user.plaintext_token, 404),  # it has no Redis
                                 ("pg", "nope", 401)):
        with connect(f"{base}/api/apps/shellowner/{topic}/shell",
                     additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            ws.send(json.dumps({"addon": addon.name}))
            answer = json.loads(ws.recv(timeout=30))
        assert answer["status"] == status, answer
        assert addon.credentials["password"] not in answer["error"]
