"""The plain description of desired and actual state that every backend speaks.

The control plane builds :class:`DesiredApp` values (or pipes them in as JSON, see
:func:`desired_from_json`); backends report :class:`ProcessStatus` values.

An app is keyed by its ``id``, never its name: the engine's labels, the router's backends,
log streams and drain positions all use the id. A name is only how people and hostnames
refer to the app; it can be renamed (its processes keep running untouched) or destroyed
and taken by someone else, who must not inherit anything of the old app.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from runtime.errors import Invalid

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{1,29}$")
# A UUID from the control plane; a hand-written desired state may use the app's name.
APP_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
PROCESS_TYPE = re.compile(r"^[a-zA-Z0-9_-]{1,30}$")
ProcessState = Literal["starting", "up", "crashed", "stopped"]


@dataclass(frozen=True)
class ProcessSpec:
    """How many processes of one type to run, and how each one runs."""

    type: str
    quantity: int = 1
    command: str = ""  # a Procfile line, run with /bin/sh -c; empty: the image's own CMD
    memory_mb: int = 512
    cpu_shares: int = 1024
    max_processes: int = 256
    restart_token: str = ""  # change it to restart every process of this type (ps:restart)
    # (index, token) pairs: change one to restart just that process (ps:restart web.2)
    process_tokens: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        pairs = self.process_tokens
        if isinstance(pairs, dict):
            pairs = pairs.items()
        try:
            pairs = tuple(sorted((int(i), str(t)) for i, t in pairs))
        except (TypeError, ValueError) as e:
            raise Invalid(f"{self.type}: process_tokens must be (index, token) pairs") from e
        object.__setattr__(self, "process_tokens", pairs)
        if not PROCESS_TYPE.match(self.type):
            raise Invalid(f"invalid process type {self.type!r}")
        for name in ("quantity", "memory_mb", "cpu_shares", "max_processes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise Invalid(f"{self.type}: {name} must be a non-negative integer")

    def token_for(self, index: int) -> str:
        """The restart token of one process: its type's, plus its own once restarted alone."""
        own = dict(self.process_tokens).get(index, "")
        return f"{self.restart_token}+{own}" if own else self.restart_token


@dataclass(frozen=True)
class HealthCheck:
    """When a new web process counts as healthy, and how long it gets to become so.

    Without ``path``: it accepts TCP connections on PORT. With it: ``GET path`` answers
    2xx/3xx, with ``content`` in the body when given (app.json's startup check).
    """

    boot_timeout: float = 60.0
    path: str = ""
    content: str = ""

    def describe(self) -> str:
        if not self.path:
            return "accept connections on PORT"
        wanted = f" with {self.content!r}" if self.content else ""
        return f"answer GET {self.path}{wanted}"


@dataclass(frozen=True)
class DesiredApp:
    """One app as it should run: its current release and formation.

    Release 0 (no image, no formation) is an app with nothing to run yet, e.g. its first
    deploy failed: it runs no process but keeps its route, so its hosts answer 503 "no
    web processes" instead of 404 "no such app".

    ``id`` keys everything the runtime keeps of the app; left empty it is the name.
    """

    name: str
    release: int
    image: str
    id: str = ""
    # The same image in a registry every machine can pull from (``host/repo@digest``),
    # when the build pushed it there: what engines of several machines run.
    image_ref: str = ""
    env: dict[str, str] = field(default_factory=dict)
    formation: tuple[ProcessSpec, ...] = ()
    domains: tuple[str, ...] = ()
    maintenance: bool = False
    healthcheck: HealthCheck = HealthCheck()
    stop_grace: float = 30.0  # seconds between SIGTERM and SIGKILL
    certificate: str = ""  # PEM chain + key for HTTPS on its hosts; empty: the default one
    https_redirect: bool = True  # plain HTTP to the hosts the certificate serves -> HTTPS
    # Networks its processes join besides the apps' one: those of its add-ons.
    networks: tuple[str, ...] = ()
    # Seconds without a request after which its web processes stop until the next
    # request (runtime/sleep.py); 0: never.
    sleep_after: float = 0.0

    def __post_init__(self) -> None:
        if not APP_NAME.match(self.name):
            raise Invalid(f"invalid app name {self.name!r}")
        if not self.id:
            object.__setattr__(self, "id", self.name)
        if not isinstance(self.id, str) or not APP_ID.match(self.id):
            raise Invalid(f"{self.name}: invalid app id {self.id!r}")
        if not isinstance(self.release, int) or self.release < 0:
            raise Invalid(f"{self.name}: release must be a non-negative integer")
        if not isinstance(self.sleep_after, int | float) or self.sleep_after < 0:
            raise Invalid(f"{self.name}: sleep_after must be a non-negative number of seconds")
        if self.release and not self.image:
            raise Invalid(f"{self.name}: image is required")
        if not self.release and (self.image or self.formation):
            raise Invalid(f"{self.name}: release 0 (nothing deployed) has no image and "
                          "runs no processes; releases are numbered from 1")
        types = [spec.type for spec in self.formation]
        if len(set(types)) != len(types):
            raise Invalid(f"{self.name}: a process type appears twice in the formation")

    def spec(self, type_: str) -> ProcessSpec | None:
        return next((s for s in self.formation if s.type == type_), None)


@dataclass(frozen=True)
class ProcessStatus:
    """One process as the engine reports it, read back from its labels and state."""

    app: str  # the app's id (DesiredApp.id)
    type: str
    index: int
    release: int
    state: ProcessState
    address: str | None = None  # "ip:port" the router can reach, when running
    started_at: float | None = None  # epoch seconds
    restarts: int = 0
    exit_code: int | None = None
    oom_killed: bool = False
    container_id: str = ""
    restart_token: str = ""
    finished_at: float | None = None  # epoch seconds, when it exited
    node: str = ""  # hostname of the machine running it, on engines of several machines

    @property
    def name(self) -> str:
        """Return the Heroku-style dyno name, e.g. ``web.1``."""
        return f"{self.type}.{self.index}"


def app_from_dict(data: dict[str, Any]) -> DesiredApp:
    """Build a DesiredApp from plain JSON-like data, raising Invalid on anything odd."""
    try:
        data = dict(data)
        formation = tuple(ProcessSpec(**spec) for spec in data.pop("formation", ()))
        healthcheck = HealthCheck(**data.pop("healthcheck", {}))
        env = {str(k): str(v) for k, v in data.pop("env", {}).items()}
        domains = tuple(data.pop("domains", ()))
        networks = tuple(data.pop("networks", ()))
        return DesiredApp(formation=formation, healthcheck=healthcheck, env=env,
                          domains=domains, networks=networks, **data)
    except (TypeError, AttributeError) as e:
        raise Invalid(f"invalid desired app: {e}") from e


def app_to_dict(app: DesiredApp) -> dict[str, Any]:
    data = asdict(app)
    data["formation"] = [asdict(spec) for spec in app.formation]
    data["domains"] = list(app.domains)
    data["networks"] = list(app.networks)
    return data


def desired_from_json(text: str | bytes) -> list[DesiredApp]:
    """Parse ``{"apps": [...]}`` (or a bare list of apps) into DesiredApps."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise Invalid(f"desired state is not JSON: {e}") from e
    if isinstance(data, dict):
        data = data.get("apps")
    if not isinstance(data, list):
        raise Invalid('desired state must be {"apps": [...]} or a list of apps')
    apps = [app_from_dict(item) for item in data]
    for key in ("name", "id"):
        values = [getattr(app, key) for app in apps]
        if len(set(values)) != len(values):
            raise Invalid(f"an app {key} appears twice in the desired state")
    return apps


def desired_to_json(apps: list[DesiredApp]) -> str:
    return json.dumps({"apps": [app_to_dict(app) for app in apps]}, indent=2, sort_keys=True)
