"""`pier pg:psql` and `pier redis:cli`: an add-on's own client on the user's terminal.

The client runs in a one-off process of the app, from the add-on's service image (it has
psql and redis-cli), confined like every one-off (`pier run`): the app's user, limits and
networks, plus the add-on's network. The credentials reach it in its environment only, so
they are never on a command line, in the app's log, or on the user's screen.
"""

import shlex

from addons.container import network
from addons.errors import ProviderError
from addons.images import ensure_service_image
from addons.services import services
from api.models import Addon, App
from api.services.addons import AddonUnavailable, addon_check_available, addon_for_app, provider_for
from api.services.oneoff import oneoff_slot_claim
from api.validation import validate_size
from runtime.backends.base import oneoff_name
from runtime.desired import DesiredApp

# What `pier pg:*` and `pier redis:*` call each service.
SERVICES = {"pg": "postgresql", "redis": "redis"}
SHELL_SIZE = "standard"


def addon_shell_prepare(*, app: App, user, topic: str,
                        name: str | None = None) -> tuple[DesiredApp, str, int, str]:
    """Claim a one-off slot for the add-on's client; return (desired, command, memory, dyno)."""
    addon = addon_for_app(app=app, service=SERVICES.get(topic, topic), name=name)
    addon_check_available(addon)
    kind = services()[addon.service]
    try:  # a server add-on never needed the image; a second when it is up to date
        image = ensure_service_image(addon.service)
    except ProviderError as e:
        raise AddonUnavailable(str(e)) from e
    host, port = provider_for(addon).address(addon)
    argv, env = kind.client(credentials=addon.credentials, host=host, port=port)
    current = app.releases.first()
    desired = DesiredApp(
        name=app.name, id=str(app.id), release=max(current.version if current else 1, 1),
        image=image, env=env,
        networks=(network(addon),) if addon.provider == Addon.Provider.CONTAINER else (),
    )
    dyno = oneoff_name()
    oneoff_slot_claim(user_id=user.pk, app_id=str(app.id), dyno=dyno)
    return desired, shlex.join(argv), validate_size(SHELL_SIZE).memory_mb, dyno
