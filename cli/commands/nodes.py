"""pier nodes, nodes:join-command, nodes:drain, nodes:activate: the machines apps run on."""

import click

from cli.client import api_path
from cli.commands.listing import list_command
from cli.commands.options import json_option, pass_env
from cli.context import Env


def _used(node: dict) -> str:
    return f"{node['memory_reserved_mb']}/{node['memory_mb']} MB"


nodes_list = list_command(
    "nodes",
    help="List the machines of the cluster and what runs on each.",
    empty="no nodes",
    headers=["hostname", "address", "role", "state", "availability", "processes", "cpus",
             "memory used/total"],
    row=lambda n: [n["hostname"], n["address"], n["role"], n["state"], n["availability"],
                   n["processes"], f"{n['cpus']:g}", _used(n)],
)


@click.command("nodes:join-command")
@pass_env
def nodes_join_command(env: Env) -> None:
    """Print the command that adds a machine to the cluster (run it there, as root)."""
    env.out.line(env.client().get(api_path("nodes", "join-command"))["command"])


@click.command("nodes:drain")
@click.argument("node")
@json_option
@pass_env
def nodes_drain(env: Env, node: str, as_json: bool) -> None:
    """Move every process off NODE (web processes without a failed request); run none there."""
    data = env.client().post(api_path("nodes", node, "drain"), {})
    if as_json:
        env.out.json(data)
    else:
        env.out.success(f"Draining {data['hostname']}: its {data['processes']} processes move "
                        "to the other nodes (see `pier nodes`)")


@click.command("nodes:activate")
@click.argument("node")
@json_option
@pass_env
def nodes_activate(env: Env, node: str, as_json: bool) -> None:
    """Let NODE run processes again (new ones: nothing moves back by itself)."""
    data = env.client().post(api_path("nodes", node, "activate"), {})
    if as_json:
        env.out.json(data)
    else:
        env.out.success(f"{data['hostname']} is active: the next scale or deploy uses it")


COMMANDS = (nodes_list, nodes_join_command, nodes_drain, nodes_activate)
