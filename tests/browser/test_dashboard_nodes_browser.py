"""An operator sees, drains and activates the nodes of a real 3-node Swarm in Chromium."""

import re

import pytest

pytest.importorskip("playwright", reason="pip install playwright pytest-playwright")

from playwright.sync_api import expect  # noqa: E402

from tests.browser.test_dashboard_browser import log_in  # noqa: E402

pytestmark = [pytest.mark.swarm, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def on_swarm(swarm_cluster, settings):
    """The control plane runs apps on the cluster; every node is active again afterwards."""
    settings.PIER_RUNTIME_BACKEND = "runtime.backends.swarm.Backend"
    settings.PIER_SWARM_MANAGER = swarm_cluster.docker_host(1)
    settings.PIER_REGISTRY = "127.0.0.1:5999"  # the backend needs one; nothing is pushed
    yield swarm_cluster
    manager = swarm_cluster.client(1)
    for node in manager.nodes.list():
        node.update({**node.attrs["Spec"], "Availability": "active"})
    swarm_cluster.wait_ready()


@pytest.fixture
def operator(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def availability(cluster, i: int) -> str:
    return cluster.client(1).nodes.get(cluster.hostname(i)).attrs["Spec"]["Availability"]


def test_an_operator_drains_and_activates_nodes(live_server, page, operator, on_swarm,
                                                screenshot):
    page.goto(live_server.url + "/nodes")
    expect(page).to_have_url(re.compile(r"/login\?next=/nodes$"))
    log_in(page, operator.email)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Nodes")).to_have_attribute("aria-current", "page")
    n1, n2, n3 = (on_swarm.hostname(i) for i in (1, 2, 3))

    def row(hostname: str):
        return page.get_by_role("row", name=re.compile(rf"^{hostname}\b"))

    for i, hostname in enumerate((n1, n2, n3), start=1):
        expect(row(hostname)).to_contain_text(on_swarm.address(i))
        expect(row(hostname)).to_contain_text("ready")
        expect(row(hostname)).to_contain_text("active")
        expect(row(hostname)).to_contain_text(re.compile(r"\d+/\d+ MB"))
    expect(row(n1)).to_contain_text("manager")
    expect(row(n3)).to_contain_text("worker")
    expect(page.get_by_label("Join command")).to_have_value(
        re.compile(r"^docker swarm join --token SWMTKN-\S+ \S+:2377$"))
    screenshot("nodes")

    # Drain node 3 through htmx: the page updates in place; Swarm pauses the node.
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name=f"Drain {n3}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Draining {n3}")
    expect(row(n3)).to_contain_text("drain")
    expect(page.get_by_role("button", name=f"Activate {n3}")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True
    assert availability(on_swarm, 3) == "pause"

    # With node 2 drained too, node 1 is the last active one: refused, saying why.
    page.get_by_role("button", name=f"Drain {n2}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Draining {n2}")
    page.get_by_role("button", name=f"Drain {n1}").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"{n1} is the last active node: draining it would leave the apps nowhere to run")
    expect(row(n1)).to_contain_text("active")
    assert availability(on_swarm, 1) == "active"
    screenshot("nodes-last-active")

    for hostname in (n3, n2):
        page.get_by_role("button", name=f"Activate {hostname}").click()
        expect(page.get_by_role("status")).to_contain_text(f"{hostname} is active")
        expect(page.get_by_role("button", name=f"Drain {hostname}")).to_be_visible()
    assert [availability(on_swarm, i) for i in (1, 2, 3)] == ["active"] * 3
