"""Where the CLI keeps the API URL and token: `$XDG_CONFIG_HOME/pier/credentials`, mode 0600.

`PIER_API_URL` and `PIER_API_KEY` in the environment override what the file says.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cli.errors import CliError

DEFAULT_API_URL = "http://127.0.0.1:5000"
ENV_API_URL = "PIER_API_URL"
ENV_API_KEY = "PIER_API_KEY"


@dataclass(frozen=True)
class Credentials:
    api_url: str
    token: str | None = None
    email: str | None = None
    # Where the token came from, for error hints: "PIER_API_KEY" or the file's path.
    token_source: str | None = None


def credentials_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says relative paths are invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "pier" / "credentials"


def normalize_api_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(
            f"invalid API URL {url!r}: it must start with http:// or https://",
            hint=f"for example {DEFAULT_API_URL}",
        )
    return url


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise CliError(
            f"cannot read credentials from {path}: {e}", hint="run `pier login` again"
        ) from e
    if not isinstance(data, dict):
        raise CliError(f"credentials file {path} is not a JSON object", hint="run `pier login`")
    return data


def credentials_load() -> Credentials:
    """Return the credentials in effect: the file, overridden by the environment."""
    path = credentials_path()
    stored = _read(path)
    api_url = os.environ.get(ENV_API_URL) or stored.get("api_url") or DEFAULT_API_URL
    if os.environ.get(ENV_API_KEY):
        token, source, email = os.environ[ENV_API_KEY], ENV_API_KEY, None
    else:
        token, source, email = stored.get("token"), str(path), stored.get("email")
    return Credentials(
        api_url=normalize_api_url(api_url),
        token=token or None,
        email=email,
        token_source=source if token else None,
    )


def credentials_save(*, api_url: str, token: str, email: str) -> Path:
    """Write the credentials file atomically, readable by its owner only; return its path."""
    path = credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    payload = json.dumps({"api_url": api_url, "token": token, "email": email}, indent=2)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            # O_CREAT's mode does not apply to a leftover file that already existed.
            os.fchmod(f.fileno(), 0o600)
            f.write(payload + "\n")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    return path


def credentials_delete() -> Path | None:
    """Remove the credentials file; return its path, or None if there was none."""
    path = credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path
