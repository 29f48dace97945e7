"""Who may do what in Pier's registry: tokens for users (their apps' repositories) and Pier."""

from django.conf import settings

from api import selectors
from api.errors import Invalid
from registry.config import RegistrySetup, registry_setup
from registry.keys import token_sign

USER_ACTIONS = {"pull", "push"}  # deleting is Pier's (retention, destroyed apps)


def _scope_parse(scope: str) -> tuple[str, str, set[str]]:
    """Split a scope `repository:myapp:pull,push` into its type, name and actions."""
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return kind, name, {a for a in actions.split(",") if a}


def registry_token_grant(*, user, service: str, scopes: list[str]) -> str:
    """Return a token for user granting, of what ``scopes`` ask, pull and push on the
    repositories of apps user may access (a repository is named as its app); nothing else.

    Asking for more is not an error: the token just grants less, and the registry
    refuses what it lacks (the token spec's way).
    """
    setup = registry_required()
    if service != setup.address:
        raise Invalid(f"unknown registry service {service!r}: this is {setup.address!r}")
    mine = set(selectors.apps_for_user(user=user).values_list("name", flat=True))
    access = []
    for scope in scopes:
        kind, name, actions = _scope_parse(scope)
        granted = actions & USER_ACTIONS
        if kind == "repository" and name in mine and granted:
            access.append({"type": kind, "name": name, "actions": sorted(granted)})
    return token_sign(setup.directory, service=service, subject=user.email, access=access)


def platform_token(*, repository: str, actions: list[str]) -> str:
    """Return a token Pier itself uses on ``repository`` (builds' pushes, retention).

    It goes to the local engine only, never to a user, and lasts as long as a build may:
    the engine presents the same token through a whole push (the stack's layers are
    hundreds of MB the first time), and would fail midway once it expired.
    """
    setup = registry_required()
    return token_sign(setup.directory, service=setup.address, subject="pier",
                      access=[{"type": "repository", "name": repository, "actions": actions}],
                      ttl=settings.PIER_BUILD_TIMEOUT)


def registry_required() -> RegistrySetup:
    setup = registry_setup()
    if setup is None:
        raise Invalid("this Pier has no registry: set PIER_REGISTRY (see the README)")
    return setup
