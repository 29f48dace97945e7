"""The machines apps run on, for Pier's operators: list, drain, activate, join.

Only with the Swarm backend (the one engine of several machines); the rules live in
:mod:`runtime.backends.swarm_nodes`, this module says who may and speaks the API's errors.
"""

from dataclasses import asdict

from django.conf import settings

from api.errors import Conflict, Forbidden, Invalid, PierError
from pier.runtime_config import runtime_backend
from runtime import errors as runtime_errors


class EngineUnavailable(PierError):
    status, id = 503, "engine_unavailable"


def _nodes(user):
    if not user.is_staff:
        raise Forbidden("nodes are managed by Pier's operators (a staff account, e.g. made "
                        "with `manage.py createsuperuser`)")
    from runtime.backends.swarm import Backend
    from runtime.backends.swarm_nodes import Nodes

    backend = runtime_backend()
    if not isinstance(backend, Backend):
        raise Conflict(f"this Pier runs apps on one machine ({settings.PIER_RUNTIME_BACKEND}): "
                       "nodes need PIER_RUNTIME_BACKEND=runtime.backends.swarm.Backend")
    return Nodes(backend)


def _call(user, action: str, *args):
    try:
        result = getattr(_nodes(user), action)(*args)
    except runtime_errors.Invalid as e:
        raise Invalid(str(e)) from e
    except runtime_errors.PierRuntimeError as e:
        raise EngineUnavailable(f"the Swarm manager cannot do that now: {e}") from e
    return result


def nodes_list(*, user) -> list[dict]:
    return [asdict(node) for node in _call(user, "list")]


def node_drain(*, user, name: str) -> dict:
    return asdict(_call(user, "drain", name))


def node_activate(*, user, name: str) -> dict:
    return asdict(_call(user, "activate", name))


def nodes_join_command(*, user) -> str:
    return _call(user, "join_command")
