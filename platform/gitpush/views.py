"""Git smart HTTP: authenticate, then hand the request to real `git http-backend` (CGI).

The view is async so that a push, which waits for its whole build, holds no thread.
"""

import asyncio
import os
import signal
import sys
import tempfile

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.authentication import header_user, token_hash
from api.errors import PierError
from api.selectors import app_get
from gitpush.repos import repo_ensure

SERVICES = {"git-receive-pack", "git-upload-pack"}
CHUNK = 64 * 1024


def _error(exc: PierError) -> HttpResponse:
    """Answer git in plain text, which it shows the pusher (error_fields is JSON's)."""
    response = HttpResponse(exc.message + "\n", status=exc.status, content_type="text/plain")
    for name, value in exc.headers.items():
        response[name] = value
    return response


@sync_to_async
def _authorize(authorization: str, app_name: str):
    """Return (user, token, repo) for a push with the token as Basic auth's password."""
    user, token = header_user(authorization, scheme="basic")
    app = app_get(user=user, name=app_name)
    return user, token, repo_ensure(app)


def _spool_body(request) -> tempfile.SpooledTemporaryFile:
    body = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    while chunk := request.read(CHUNK):
        body.write(chunk)
    body.seek(0)
    return body


def _cgi_env(request, user, token: str, repo, path: str, length: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HTTP_", "CONTENT_"))}
    env.update(
        GIT_PROJECT_ROOT=str(repo.parent),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{repo.name}/{path}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.META.get("QUERY_STRING", ""),
        CONTENT_TYPE=request.META.get("CONTENT_TYPE", ""),
        CONTENT_LENGTH=str(length),
        REMOTE_USER=user.email,
        REMOTE_ADDR=request.META.get("REMOTE_ADDR", ""),
        PIER_USER_ID=str(user.pk),
        # The hook re-checks it while the build runs: a revoked token ends the push.
        PIER_TOKEN_HASH=token_hash(token),
        PIER_REPO=str(repo),
        PIER_PYTHON=sys.executable,
        PIER_MANAGE=str(settings.BASE_DIR / "manage.py"),
        PIER_DATA_DIR=str(settings.PIER_DATA_DIR),
    )
    if "HTTP_CONTENT_ENCODING" in request.META:  # git http-backend inflates gzip bodies itself
        env["HTTP_CONTENT_ENCODING"] = request.META["HTTP_CONTENT_ENCODING"]
    if "HTTP_GIT_PROTOCOL" in request.META:
        env["GIT_PROTOCOL"] = request.META["HTTP_GIT_PROTOCOL"]
    return env


# Git authenticates with a token in Basic auth, never with a session cookie: no CSRF risk.
@csrf_exempt
async def git_http(request, app: str, path: str):
    service = request.GET.get("service") if path == "info/refs" else path
    if service not in SERVICES:
        return HttpResponse(
            "not a git smart-HTTP endpoint\n", status=404, content_type="text/plain"
        )
    try:
        user, token, repo = await _authorize(request.META.get("HTTP_AUTHORIZATION", ""), app)
    except PierError as e:
        return _error(e)
    body = await asyncio.to_thread(_spool_body, request)
    length = body.seek(0, os.SEEK_END)
    body.seek(0)
    proc = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=_cgi_env(request, user, token, repo, path, length),
        start_new_session=True,  # so the hook and the build follower die with the push
    )
    feeder = asyncio.create_task(_feed(proc, body))
    status, headers = await _read_cgi_headers(proc.stdout)
    response = StreamingHttpResponse(_stream(proc, feeder), status=status)
    for name, value in headers:
        response[name] = value
    return response


async def _feed(proc, body) -> None:
    try:
        while chunk := body.read(CHUNK):
            proc.stdin.write(chunk)
            await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        body.close()
        proc.stdin.close()


async def _read_cgi_headers(stdout) -> tuple[int, list[tuple[str, str]]]:
    status, headers = 200, []
    while line := (await stdout.readline()).decode("latin-1").rstrip("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        else:
            headers.append((name.strip(), value.strip()))
    return status, headers


async def _stream(proc, feeder):
    try:
        while chunk := await proc.stdout.read(CHUNK):
            yield chunk
        await proc.wait()
    finally:
        # The client went away (or we are done): end the hook and everything under it.
        if proc.returncode is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            await proc.wait()
        feeder.cancel()
