"""Errors a build ends with. Each message is fit to show to the person who pushed."""


class BuildFailed(Exception):
    """The build did not produce an image; `message` says which step failed and why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoBuildpackDetected(BuildFailed):
    pass


class BuildTimedOut(BuildFailed):
    pass


class StackMissing(BuildFailed):
    """The stack images are not there: run `ensure_stack_images()` first."""
