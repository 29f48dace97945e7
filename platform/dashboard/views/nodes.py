"""The Nodes page, for Pier's operators: the machines of a Swarm cluster, draining and
activating them, and the command that joins another one.

Each is a call to :mod:`api.services.nodes`, which decides who may (staff) and when (the
Swarm backend only); its refusal is what the page says. Actions name a node by its id:
two machines may share a hostname.
"""

from django.shortcuts import redirect, render

from api.errors import PierError
from api.services import nodes as node_services
from dashboard.views.common import flash, login_get, login_post


@login_get
def node_list(request):
    page = {"title": "Nodes", "subtitle": "The machines of the Swarm cluster the apps run on"}
    try:
        context = {**page, "nodes": node_services.nodes_list(user=request.user),
                   "join_command": node_services.nodes_join_command(user=request.user)}
    except PierError as e:
        return render(request, "dashboard/nodes.html", {**page, "refused": e.message},
                      status=e.status)
    response = render(request, "dashboard/nodes.html", context)
    response["Cache-Control"] = "no-store"  # the join command holds the cluster's join token
    return response


@login_post
def node_drain(request, node_id):
    return _act(request, node_services.node_drain, node_id, lambda node: (
        f"Draining {node['hostname']}: its {node['processes']} processes move to the other "
        "nodes."))


@login_post
def node_activate(request, node_id):
    return _act(request, node_services.node_activate, node_id, lambda node: (
        f"{node['hostname']} is active: the next scale or deploy places processes there."))


def _act(request, service, node_id: str, done):
    flash(request, service, user=request.user, name=node_id, done=done)
    return redirect("dashboard:nodes")
