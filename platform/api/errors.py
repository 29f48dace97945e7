"""Errors the services raise; api.exceptions turns each into a response, the one place."""


class PierError(Exception):
    status = 400
    id = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # HTTP headers that go with its response


class Invalid(PierError):
    status, id = 422, "invalid_params"


class NotFound(PierError):
    status, id = 404, "not_found"


class Conflict(PierError):
    status, id = 409, "conflict"


class Forbidden(PierError):
    status, id = 403, "forbidden"


class MethodNotAllowed(PierError):
    status, id = 405, "method_not_allowed"


class Unauthorized(PierError):
    """No credentials, or bad ones; ``challenge`` says which scheme to answer with."""

    status, id = 401, "unauthorized"

    def __init__(self, message: str, challenge: str = "Bearer"):
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class RateLimited(PierError):
    status, id = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int | None = None):
        wait = {"Retry-After": str(retry_after)} if retry_after else None
        super().__init__(message, headers=wait)
        self.retry_after = retry_after


class StartFailed(PierError):
    status, id = 500, "start_failed"
