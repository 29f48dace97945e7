"""The one place errors become responses: ``{"id": "...", "message": "..."}``.

``exception_handler`` serves DRF's views; ``error_response`` the async views (log streams,
`pier run`); ``error_fields`` the WebSocket and git, which answer in their own framing.
"""

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api.authentication import MISSING
from api.errors import PierError

DRF_IDS = {
    exceptions.NotAuthenticated: "unauthorized",
    exceptions.AuthenticationFailed: "unauthorized",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.ParseError: "bad_request",
    exceptions.ValidationError: "invalid_params",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def _message(detail) -> str:
    """Flatten DRF's nested error detail into one readable sentence."""
    if isinstance(detail, dict):
        return "; ".join(
            f"{key}: {_message(value)}" if key != "non_field_errors" else _message(value)
            for key, value in detail.items()
        )
    if isinstance(detail, list):
        return "; ".join(_message(item) for item in detail)
    return str(detail)


def error_fields(exc: PierError) -> dict:
    """Return the body every API error has, whatever carries it."""
    return {"id": exc.id, "message": exc.message}


def error_response(exc: PierError) -> JsonResponse:
    """Return the response of an async (non-DRF) view for ``exc``."""
    response = JsonResponse(error_fields(exc), status=exc.status)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def exception_handler(exc, context):
    if isinstance(exc, PierError):
        return Response(error_fields(exc), status=exc.status, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error_id = next((v for k, v in DRF_IDS.items() if isinstance(exc, k)), "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    if isinstance(exc, exceptions.NotAuthenticated):
        detail = MISSING  # the same words as every other way in
    if isinstance(exc, exceptions.ValidationError):
        response.status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    response.data = {"id": error_id, "message": _message(detail)}
    return response
