"""An app's repository in Pier's registry follows the app: renamed with it, gone with it.

Repositories are named as apps are, so a name must never hand its images on: whoever
creates an app with a destroyed (or renamed) app's old name starts with an empty one.
"""

import os
import shutil

from django.db.models import Value
from django.db.models.functions import Replace

from api.errors import Conflict
from api.models import App, Build
from pier.redis import get_redis
from registry.collection import collection_request
from registry.config import RegistrySetup, registry_setup
from registry.keys import TOKEN_TTL_SECONDS


def _freed_key(name: str) -> str:
    return f"pier:registry:freed:{name}"


def repository_destroy(*, name: str) -> None:
    """Remove repository ``name``, whose app is gone: it stops serving at once."""
    setup = registry_setup()
    if setup is not None:
        _name_free(name)
        _remove(setup, name)


def _remove(setup: RegistrySetup, name: str) -> None:
    """The registry's API only deletes manifests one by one; without the repository's links
    it serves nothing, and a garbage collection then deletes its blobs."""
    if setup.repository_dir(name).exists():
        shutil.rmtree(setup.repository_dir(name), ignore_errors=True)
        collection_request()


def _name_free(name: str) -> None:
    """Keep ``name`` from every app while tokens granted on it may still be valid: none of
    its old users' tokens must meet the images of the next app of that name."""
    get_redis().set(_freed_key(name), "1", ex=TOKEN_TTL_SECONDS)


def repository_name_check(*, name: str) -> None:
    """Refuse a name whose repository was just freed (see _name_free); Conflict says when."""
    if registry_setup() is None:
        return
    left = get_redis().ttl(_freed_key(name))
    if left > 0:
        raise Conflict(f"app name {name!r} was freed moments ago and registry tokens granted "
                       f"on it stay valid {left} s more: choose another name, or try again then")


def repository_rename(*, app: App, old: str, new: str) -> None:
    """Move the app's repository to its new name, and its builds' references with it."""
    setup = registry_setup()
    if setup is None:
        return
    _remove(setup, new)  # leftovers of an app once named so are not this app's
    if setup.repository_dir(old).exists():
        os.rename(setup.repository_dir(old), setup.repository_dir(new))
    _name_free(old)
    Build.objects.filter(app=app).exclude(image_ref="").update(image_ref=Replace(
        "image_ref", Value(f"{setup.address}/{old}@"), Value(f"{setup.address}/{new}@")))
