"""Errors the services raise; api.exceptions turns each into a response, the one place."""


class PierError(Exception):
    status = 400
    id = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers that go with this error's response."""
        return {}


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
        super().__init__(message)
        self.challenge = challenge

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class RateLimited(PierError):
    status, id = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after else {}


class StartFailed(PierError):
    status, id = 500, "start_failed"
