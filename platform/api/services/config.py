from django.db import transaction

from api.models import App, Config, Release
from api.quotas import config_size_check
from api.selectors import config_current, release_current
from api.services.releases import release_create
from api.validation import validate_config_vars


def _describe(set_keys: list[str], unset_keys: list[str]) -> str:
    """Describe a config change by key names only: values never reach a release summary."""
    parts = []
    if set_keys:
        parts.append(f"Set {', '.join(set_keys)} config vars")
    if unset_keys:
        parts.append(f"Remove {', '.join(unset_keys)} config vars")
    return "; ".join(parts)


def config_update(*, app: App, changes: dict, user, description: str = "") -> dict[str, str]:
    """Apply changes (None unsets a key) as a new Config and a new release; return the config.

    ``description`` replaces the release's "Set X config vars" (add-ons say what they did).
    """
    validate_config_vars(changes)
    with transaction.atomic():
        App.objects.select_for_update().filter(pk=app.pk).first()
        current = dict(config_current(app=app).values)
        updated = dict(current)
        for key, value in changes.items():
            if value is None:
                updated.pop(key, None)
            else:
                updated[key] = value
        if updated == current:
            return current
        config_size_check(app=app, values=updated)
        set_keys = sorted(k for k, v in changes.items() if v is not None and current.get(k) != v)
        unset_keys = sorted(k for k, v in changes.items() if v is None and k in current)
        config = Config.objects.create(app=app, values=updated, creator=user)
        running = release_current(app=app)
        build = running.build if running else None
        release_create(
            app=app,
            build=build,
            config=config,
            description=description or _describe(set_keys, unset_keys),
            user=user,
            # With code to run, the new config goes live only once the runtime restarts it.
            status=Release.Status.PENDING if build else Release.Status.SUCCEEDED,
        )
    return updated
