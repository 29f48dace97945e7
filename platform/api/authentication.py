"""The one authenticator: an API token in the Authorization header, wherever it comes in.

``header_user`` serves the WebSocket and git (a token in Basic auth, as git sends it),
``request_user`` the async views (the token, else the dashboard's session) and
``TokenAuthentication`` DRF's views. Each raises Unauthorized, which api.exceptions turns
into the response.
"""

import base64
import binascii
from datetime import timedelta
from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from api.errors import Unauthorized
from api.models import ApiToken
from api.services.tokens import token_hash

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MISSING = "missing API token: run `pier login` to get one"
INVALID = "invalid or revoked API token: run `pier login` to get a new one"
CHALLENGES = {"bearer": "Bearer", "basic": 'Basic realm="Pier"'}


def token_user(token: str):
    """Return the active user owning token, or None."""
    try:
        row = ApiToken.objects.select_related("user").get(
            key_hash=token_hash(token), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def header_token(header: str, *, scheme: str = "bearer") -> str | None:
    """Return the token in an Authorization header, or None when there is no header.

    ``scheme`` "basic" reads the token as Basic auth's password (git's way). Raise
    Unauthorized for a header of another scheme or without a token.
    """
    if not header:
        return None
    given, _, value = header.partition(" ")
    value = value.strip()
    if given.lower() == scheme and value and scheme == "basic":
        value = _basic_password(value)
    if given.lower() != scheme or not value:
        example = "Basic <base64 of :token>" if scheme == "basic" else "Bearer <token>"
        raise Unauthorized(f"malformed Authorization header: use 'Authorization: {example}'",
                           CHALLENGES[scheme])
    return value


def _basic_password(encoded: str) -> str:
    try:
        return base64.b64decode(encoded).decode().partition(":")[2]
    except (binascii.Error, UnicodeDecodeError):
        return ""


def header_user(header: str, *, scheme: str = "bearer", required: bool = True):
    """Return (user, token) for the token in an Authorization header; raise Unauthorized.

    Without a header: (None, None) unless ``required``.
    """
    token = header_token(header, scheme=scheme)
    if token is None:
        if required:
            raise Unauthorized(MISSING, CHALLENGES[scheme])
        return None, None
    user = token_user(token)
    if user is None:
        raise Unauthorized(INVALID, CHALLENGES[scheme])
    return user, token


async def request_user(request, *, fresh: bool = False):
    """Return the user of the request's token, else of its session (the dashboard).

    Raise Unauthorized when it has neither. ``fresh`` reads the session again rather than
    what the request cached: a long stream asks whether its user is still logged in.
    """
    user, _ = await sync_to_async(header_user)(
        request.headers.get("Authorization", ""), required=False
    )
    if user is not None:
        return user
    if fresh:
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(request.session.session_key)
        request.__dict__.pop("_acached_user", None)
    user = await request.auser()
    if not user.is_authenticated:
        raise Unauthorized(MISSING)
    return user


class TokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        try:
            user, _ = header_user(header, required=False)
        except Unauthorized as e:
            raise exceptions.AuthenticationFailed(e.message) from e
        return (user, None) if user is not None else None

    def authenticate_header(self, request):
        return CHALLENGES["bearer"]
