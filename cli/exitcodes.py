from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of `pier`; scripts may rely on them."""

    OK = 0
    ERROR = 1  # the server refused, or the user asked for something impossible
    USAGE = 2  # click's own status for bad arguments
    NOT_LOGGED_IN = 3
    CANNOT_CONNECT = 4
