"""The Nodes page without a cluster: only operators see it, and one machine has no nodes.

Listing, draining and activating real nodes: tests/browser/test_dashboard_nodes_browser.py.
"""

import pytest
from django.urls import reverse

NODES = reverse("dashboard:nodes")


@pytest.fixture
def single_host(settings, redis_client):
    # redis_client: the backend is made with its one-off leases in Redis.
    settings.PIER_RUNTIME_BACKEND = "runtime.backends.docker.Backend"


@pytest.fixture
def operator(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_only_operators_get_the_page_and_its_link(web, single_host):
    refused = web.get(NODES)
    assert refused.status_code == 403
    assert "nodes are managed by Pier&#x27;s operators" in refused.content.decode()
    assert f'href="{NODES}"' not in web.get(reverse("dashboard:apps")).content.decode()


def test_non_staff_cannot_drain_a_node(web, single_host):
    response = web.post(reverse("dashboard:node-drain", kwargs={"node_id": "node-2"}),
                        follow=True)
    assert response.redirect_chain == [(NODES, 302)]
    assert response.status_code == 403
    assert 'class="message message-error"' in response.content.decode()


def test_a_single_host_pier_says_nodes_need_the_swarm_backend(web, operator, single_host):
    response = web.get(NODES)
    assert response.status_code == 409
    page = response.content.decode()
    assert "<h1>Nodes</h1>" in page and f'href="{NODES}" aria-current="page"' in page
    assert ("this Pier runs apps on one machine (runtime.backends.docker.Backend): nodes need "
            "PIER_RUNTIME_BACKEND=runtime.backends.swarm.Backend") in page
    assert "<table" not in page


def test_an_operators_action_on_a_single_host_pier_shows_why_not(web, operator, single_host):
    response = web.post(reverse("dashboard:node-activate", kwargs={"node_id": "node-2"}),
                        follow=True)
    assert response.redirect_chain == [(NODES, 302)]
    assert 'class="message message-error">this Pier runs apps on one machine' in (
        response.content.decode())
