"""POST /api/apps/{app}/dynos/run: `pier run`, its output streamed back as NDJSON.

Async, so that a long one-off process holds no thread of the web process.
"""

import asyncio
import json

from asgiref.sync import sync_to_async
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.authentication import header_user
from api.errors import MethodNotAllowed, PierError
from api.exceptions import error_response
from api.selectors import app_get
from api.services.oneoff import oneoff_prepare, oneoff_run, oneoff_stop
from api.tasks import oneoff_detached_task


def _line(**fields) -> str:
    return json.dumps(fields) + "\n"


@sync_to_async
def prepare_for_header(authorization: str, app_name: str, body: dict):
    """Return (desired app, memory, dyno) for the user of an Authorization header.

    Raise a PierError (Unauthorized for a missing or bad token) that says why not.
    """
    user, _ = header_user(authorization)
    app = app_get(user=user, name=app_name)
    return oneoff_prepare(app=app, user=user, command=body.get("command"), size=body.get("size"))


def json_object(raw: str | bytes) -> dict:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PierError("the request must be a JSON object")
    return body


# Bearer tokens only (no session cookie is accepted here), so CSRF cannot apply.
@csrf_exempt
async def oneoff_create(request, app: str):
    try:
        if request.method != "POST":
            raise MethodNotAllowed("use POST")
        body = json_object(request.body or b"{}")
        authorization = request.headers.get("Authorization", "")
        desired, memory, dyno = await prepare_for_header(authorization, app, body)
    except PierError as e:
        return error_response(e)
    command = body["command"]
    if not body.get("attach", True):
        oneoff_detached_task.delay(desired.id, command, memory, dyno)
        message = f"Running `{command}` on {app}: up, {dyno}"
        return JsonResponse({"name": dyno, "message": message}, status=202)
    stream = _run_streaming(desired, command, memory, dyno)
    return StreamingHttpResponse(stream, content_type="application/x-ndjson")


async def _run_streaming(desired, command: str, memory: int, dyno: str):
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def put(kind, value) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def work() -> None:
        try:
            code = oneoff_run(
                desired=desired,
                command=command,
                memory_mb=memory,
                dyno=dyno,
                output=lambda chunk: put("output", chunk),
            )
            put("exit_code", code)
        except Exception as e:  # reported to the caller, who sees nothing else
            put("error", f"could not run the process: {e}")

    worker = loop.run_in_executor(None, work)
    try:
        while True:
            kind, value = await queue.get()
            if kind == "output":
                yield _line(output=value.decode("utf-8", "replace"))
                continue
            yield _line(**{kind: value})
            return
    finally:
        if not worker.done():  # the client went away: don't leave the process running
            await loop.run_in_executor(None, lambda: oneoff_stop(app_id=desired.id, dyno=dyno))
