"""HTTP client of the Pier API: base URL, Bearer auth, and API errors mapped to exceptions."""

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from urllib.parse import quote

import click
import httpx

from cli import __version__
from cli.errors import ApiError, CannotConnect, CliError, NotLoggedIn

DEFAULT_TIMEOUT = 30.0
# Streams (logs, attached runs) may stay silent for as long as they like; connecting may not.
STREAM_TIMEOUT = httpx.Timeout(10, read=None)
PUBLIC_PATHS = frozenset({"login", "health"})


def api_path(*parts: str) -> str:
    """Join path segments, quoting each one (emails and hostnames are user input)."""
    return "/".join(quote(str(part), safe="@") for part in parts)


class Client:
    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        token_source: str | None = None,
        transport: httpx.BaseTransport | None = None,
        debug: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        self.api_url = api_url.rstrip("/")
        self.token = token
        self.token_source = token_source
        headers = {"Accept": "application/json", "User-Agent": f"pier-cli/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        hooks = {"request": [_log_request], "response": [_log_response]} if debug else {}
        self._http = httpx.Client(
            base_url=self.api_url + "/api/",
            headers=headers,
            transport=transport,
            timeout=timeout,
            event_hooks=hooks,
        )

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def patch(self, path: str, body: dict) -> Any:
        return self.request("PATCH", path, body)

    def put(self, path: str, body: dict) -> Any:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request; return the decoded JSON body, or None for an empty answer."""
        self._check_token(path)
        with self.transport_errors():
            response = self._http.request(method, path, json=body)
        return self._decode(response)

    def text(self, path: str) -> str:
        """GET a plain-text resource (such as a build's output); return it as text."""
        self._check_token(path)
        with self.transport_errors():
            response = self._http.get(path, headers={"Accept": "text/plain, application/json"})
        self._raise_for_status(response)
        return response.text

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        headers: dict | None = None,
        body: Any = None,
    ) -> Iterator[httpx.Response]:
        """Open a streaming request; yield the response once its status is known to be good.

        An error status is read in full and raised like `request` does. Errors while reading
        the body are the caller's to handle: `transport_errors` maps them.
        """
        self._check_token(path)
        with ExitStack() as stack:
            with self.transport_errors():
                response = stack.enter_context(
                    self._http.stream(
                        method,
                        path,
                        params=params,
                        headers=headers,
                        json=body,
                        timeout=STREAM_TIMEOUT,
                    )
                )
                if response.status_code >= 400:
                    response.read()
            self._raise_for_status(response)
            yield response

    def _check_token(self, path: str) -> None:
        if not self.token and path not in PUBLIC_PATHS:
            raise NotLoggedIn(
                "not logged in", hint="run `pier login`, or set PIER_API_KEY to an API token"
            )

    @contextmanager
    def transport_errors(self) -> Iterator[None]:
        """Turn httpx's transport errors (also while reading a stream) into CannotConnect."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise CannotConnect(
                f"cannot reach Pier at {self.api_url}: is it running? set PIER_API_URL"
            ) from e
        except httpx.TimeoutException as e:
            raise CannotConnect(f"Pier at {self.api_url} did not answer in time") from e
        except httpx.TransportError as e:
            raise CannotConnect(f"talking to Pier at {self.api_url} failed: {e}") from e

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.status_code == 401:
            source = f" (the token comes from {self.token_source})" if self.token_source else ""
            raise NotLoggedIn(
                "not logged in or token invalid: run `pier login`",
                hint=f"{_error_body(response)[1] or 'the server refused the token'}{source}",
            )
        if response.status_code >= 400:
            error_id, message = _error_body(response)
            raise ApiError(
                message
                or f"{response.request.method} {response.url} failed: HTTP {response.status_code}",
                status=response.status_code,
                error_id=error_id or "error",
                hint="the server failed: its log says why" if response.status_code >= 500 else None,
            )

    def _decode(self, response: httpx.Response) -> Any:
        self._raise_for_status(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as e:
            raise CliError(
                f"{response.url} did not answer with JSON: is PIER_API_URL pointing at Pier?",
                hint=f"PIER_API_URL is {self.api_url}",
            ) from e


def _error_body(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        data = response.json()
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    return data.get("id"), data.get("message") or data.get("detail")


def _log_request(request: httpx.Request) -> None:
    click.echo(f"> {request.method} {request.url}", err=True)


def _log_response(response: httpx.Response) -> None:
    click.echo(f"< {response.status_code} {response.reason_phrase}", err=True)
