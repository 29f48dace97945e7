"""Errors the services raise; one handler (api.exceptions) maps each to its HTTP status."""


class PierError(Exception):
    status = 400
    id = "bad_request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Invalid(PierError):
    status = 422
    id = "invalid_params"


class NotFound(PierError):
    status = 404
    id = "not_found"


class Conflict(PierError):
    status = 409
    id = "conflict"


class Forbidden(PierError):
    status = 403
    id = "forbidden"


class RateLimited(PierError):
    status = 429
    id = "rate_limited"

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after
