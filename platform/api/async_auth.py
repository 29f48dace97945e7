"""Authentication for the few async (streaming) endpoints that DRF cannot serve."""

from asgiref.sync import sync_to_async
from django.http import JsonResponse

from api.authentication import token_user


async def request_user(request):
    """Return the user of a Bearer token, else of the session (the dashboard), else None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return await sync_to_async(token_user)(token.strip())
    user = await request.auser()
    return user if user.is_authenticated else None


def json_error(status: int, error_id: str, message: str) -> JsonResponse:
    response = JsonResponse({"id": error_id, "message": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    return response
