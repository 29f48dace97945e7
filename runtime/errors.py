"""Errors the runtime raises; callers catch them in one place (the loop, a task wrapper)."""


class PierRuntimeError(Exception):
    """Base class of the runtime's errors."""


class Invalid(PierRuntimeError):
    """A desired state that cannot be run (bad JSON, unknown field, impossible value)."""


class BackendUnavailable(PierRuntimeError):
    """The engine (Docker daemon, Kubernetes API) cannot be reached right now; retry later."""


class RouterUnavailable(PierRuntimeError):
    """The router's admin API cannot be reached or refused the configuration."""


class ImproperlyConfigured(PierRuntimeError):
    """A dotted path names no backend or router, or a setting is wrong."""


class StartFailed(PierRuntimeError):
    """The engine refused to start a process (missing image, name conflict, bad limits)."""


class EngineError(PierRuntimeError):
    """The engine answered, but refused or failed an operation."""


class IsolationError(PierRuntimeError):
    """Apps cannot be kept away from the host (iptables missing or refused); run none."""
