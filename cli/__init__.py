"""The `pier` command: an HTTP client of the Pier API, nothing more."""

__version__ = "0.1.0"
