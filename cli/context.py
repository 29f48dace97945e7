"""The environment a command runs in: credentials, the HTTP client, output, the app.

Tests pass their own `Env` (a fake transport, a forced TTY) as click's `obj`.
"""

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from cli import gitremote
from cli.client import Client
from cli.credentials import Credentials, credentials_load
from cli.errors import CliError
from cli.output import Output


@dataclass
class Env:
    transport: httpx.BaseTransport | None = None
    tty: bool | None = None
    debug: bool = False
    _credentials: Credentials | None = field(default=None, repr=False)
    _output: Output | None = field(default=None, repr=False)

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            self._credentials = credentials_load()
        return self._credentials

    @property
    def out(self) -> Output:
        if self._output is None:
            self._output = Output(tty=self.tty)
        return self._output

    def client(self, *, api_url: str | None = None, token: str | None = None) -> Client:
        """Return a client for the configured server, or for api_url/token when given."""
        if api_url is None and token is None:
            creds = self.credentials
            api_url, token, source = creds.api_url, creds.token, creds.token_source
        else:
            source = None
        return Client(
            api_url or self.credentials.api_url,
            token,
            token_source=source,
            transport=self.transport,
            debug=self.debug,
        )

    def app(self, name: str | None) -> str:
        """Return the app a command is about: -a APP, else the cwd's `pier` git remote."""
        if name:
            return name
        found = gitremote.app_from_remote(Path.cwd())
        if found:
            return found
        raise CliError(
            "no app specified: use -a APP or run inside a repo with a `pier` git remote",
            hint="`pier apps` lists your apps; `pier git:remote -a APP` adds the remote",
        )
