"""Errors the CLI reports to the user; `cli.main` turns each into a red line and exit code."""

from cli.exitcodes import ExitCode


class CliError(Exception):
    exit_code = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotLoggedIn(CliError):
    exit_code = ExitCode.NOT_LOGGED_IN


class CannotConnect(CliError):
    exit_code = ExitCode.CANNOT_CONNECT


class ApiError(CliError):
    """The server answered with an error: {"id": "...", "message": "..."}."""

    def __init__(self, message: str, *, status: int, error_id: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.error_id = error_id
