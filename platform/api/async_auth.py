"""Authentication for the few async (streaming) endpoints that DRF cannot serve."""

from importlib import import_module

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse

from api.authentication import token_user


async def request_user(request, *, fresh: bool = False):
    """Return the user of a Bearer token, else of the session (the dashboard), else None.

    ``fresh`` reads the session again rather than what the request cached: a long stream
    asks whether its user is still logged in.
    """
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await sync_to_async(token_user)(token.strip())
    if fresh:
        engine = import_module(settings.SESSION_ENGINE)
        request.session = engine.SessionStore(request.session.session_key)
        request.__dict__.pop("_acached_user", None)
    user = await request.auser()
    return user if user.is_authenticated else None


def json_error(status: int, error_id: str, message: str) -> JsonResponse:
    response = JsonResponse({"id": error_id, "message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response
