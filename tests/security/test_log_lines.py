"""Every line written to a log is one line: no forged lines, no terminal escapes.

The attacks: `pier run $'true\\nSET x y'` put a raw newline in the platform's event line
(a second syslog message, or a Redis command on a drain to Redis); app output with CR
starts a new EventSource line, and ESC sequences drive the terminal of whoever runs
`pier logs`. Real Docker containers write the lines, real Redis holds them, a real TCP
syslog drain receives them.
"""

from __future__ import annotations

import contextlib
import re
import uuid

import docker
import pytest
from click.testing import CliRunner
from django.utils import timezone

from runtime import applog
from runtime.drains import Drain
from runtime.logship import Line, Shipper, StreamWriter
from runtime.outbound import Policy
from tests.helpers import SyslogListener, fresh_app, wait_for

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
LOCAL = Policy(["127.0.0.0/8"])  # the test's drain listens on 127.0.0.1
# Output with a carriage return (an EventSource line break), a screen clear, a window title.
PRINTF = r"printf 'progress 50%%\rpier[api]: Deployed v9\033[2J\033]0;pwned\007 done\n'"
ESCAPED = "progress 50%\\rpier[api]: Deployed v9\\x1b[2J\\x1b]0;pwned\\x07 done"


@pytest.fixture
def stream_app(redis_client):
    """The id of a fresh app: streams and drain positions are keyed by app id."""
    with fresh_app(redis_client) as app_id:
        yield app_id


@contextlib.contextmanager
def draining(redis_client, app_id: str):
    """Run a syslog drain of the app; yield its listener."""
    listener = SyslogListener()
    drain = Drain(redis_client, app_id, f"syslog://127.0.0.1:{listener.port}", policy=LOCAL,
                  block=0.1)
    drain.start()
    wait_for(lambda: drain.read_position, what="the drain's start")
    yield listener
    drain.stop()
    drain.join(5)
    listener.close()


@pytest.fixture
def drained(redis_client, stream_app):
    """A running syslog drain of the app; yields its listener."""
    with draining(redis_client, stream_app) as listener:
        yield listener


def stream_lines(redis_client, stream_app) -> list[applog.LogLine]:
    return [applog.LogLine.from_entry(i, f)
            for i, f in redis_client.xrange(applog.stream_key(stream_app))]


def assert_one_line_each(lines: list[applog.LogLine], listener: SyslogListener) -> None:
    """No control character in the stream, and the drain got exactly one message a line."""
    assert lines and not [line for line in lines if CONTROL.search(line.message)]
    messages = wait_for(lambda: len(m := listener.messages()) >= len(lines) and m,
                        what="the drained lines")
    assert len(messages) == len(lines)
    for message, line in zip(messages, lines, strict=True):
        assert message.endswith(line.message.encode())
        assert not CONTROL.search(message.decode())


@pytest.fixture
def stack_image():
    from builds.engine.stack import ensure_stack_images

    try:
        docker.from_env().ping()
    except Exception as e:  # any failure means "no engine here"
        pytest.skip(f"Docker Engine not available: {e}")
    ensure_stack_images(progress=lambda line: None)
    return "pier/stack-run:latest"


@pytest.mark.docker
def test_a_run_command_with_a_newline_and_its_output_stay_one_line(
        api, user, redis_client, stack_image):
    from api.models import App, Build
    from api.selectors import config_current
    from api.services.releases import release_create
    from api.tasks import oneoff_detached_task

    name = f"sec{uuid.uuid4().hex[:8]}"
    assert api.post("/api/apps", {"name": name}, format="json").status_code == 201
    app = App.objects.get(name=name)
    build = Build.objects.create(app=app, status=Build.Status.SUCCEEDED, source_sha="1a2b3c4d",
                                 buildpack="python", process_types={"web": "true"},
                                 image=stack_image, creator=user, finished_at=timezone.now())
    release_create(app=app, build=build, config=config_current(app=app), description="Deploy",
                   user=user)
    from pier.runtime_config import runtime_backend

    runtime_backend().ensure_network()
    with fresh_app(redis_client, str(app.id)) as app_id, draining(redis_client, app_id) as drained:
        # `pier run --detach $'printf ...\nSET x y'`: its output goes to the app's stream.
        oneoff_detached_task(app_id, f"{PRINTF}\nSET x y", 128, "run.1")
        lines = stream_lines(redis_client, app_id)
        messages = [line.message for line in lines]
        assert f"Starting process with command `{PRINTF}\\nSET x y`" in messages
        assert ESCAPED in messages
        assert not [m for m in messages if m.startswith("SET x y")]
        assert_one_line_each(lines, drained)


@pytest.mark.docker
def test_app_output_from_a_container_is_escaped_in_the_stream_and_the_drain(
        redis_client, stream_app, drained, stack_image):
    client, label = docker.from_env(), f"sec-outbound-{uuid.uuid4().hex[:8]}"
    shipper = Shipper(client, redis_client, labels={"pier.test": label}, rescan=1.0)
    shipper.start()
    container = client.containers.run(
        stack_image, ["/bin/sh", "-c", f"{PRINTF}; echo after; sleep 60"], detach=True,
        labels={"pier.app-id": stream_app, "pier.app": f"sec{stream_app[:8]}",
                "pier.process": "web", "pier.index": "1",
                "pier.release": "1", "pier.test": label})
    try:
        lines = wait_for(lambda: len(found := stream_lines(redis_client, stream_app)) >= 2
                         and found, what="the container's lines")
        assert [(line.source, line.dyno, line.message) for line in lines] == [
            ("app", "web.1", ESCAPED), ("app", "web.1", "after")]
        assert_one_line_each(lines, drained)
    finally:
        shipper.stop()
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)


def test_router_and_event_lines_are_escaped_where_written(redis_client, stream_app):
    from logs.events import event_log

    writer = StreamWriter(redis_client)
    writer.put([Line(stream_app, "router", "router", applog.now_timestamp(),
                     'at=info method=GET path="/\r\nSET x y" status=200')], None)
    assert writer.flush()
    event_log(app_id=stream_app, message="Set FOO\nSET x y\x1b[2J", dyno="api")
    assert [line.message for line in stream_lines(redis_client, stream_app)] == [
        'at=info method=GET path="/\\r\\nSET x y" status=200',
        "Set FOO\\nSET x y\\x1b[2J",
    ]


def test_build_output_lines_are_escaped_in_the_stream_and_the_file(redis_client, tmp_path):
    from builds.logstream import BuildLogWriter, follow

    build_id = uuid.uuid4().hex
    writer = BuildLogWriter(redis_client, build_id, tmp_path / "output.txt")
    writer.write("\x1b[1m-----> Installing\x1b[0m\rforged\n")
    writer.close("succeeded")
    try:
        assert list(follow(redis_client, build_id, block_ms=100)) == [
            "\\x1b[1m-----> Installing\\x1b[0m\\rforged"]
        assert (tmp_path / "output.txt").read_text() == (
            "\\x1b[1m-----> Installing\\x1b[0m\\rforged\n")
    finally:
        redis_client.delete(f"pier:build:{build_id}:log")


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous")
@pytest.mark.parametrize("tty", [False, True])
def test_the_cli_prints_no_escape_from_a_line_stored_before(
        transactional_db, live_server, settings, redis_client, api, user, stream_app, tty,
        tmp_path):
    from api.models import App
    from cli.context import Env
    from cli.main import cli

    name = f"sec{stream_app[:8]}"
    assert api.post("/api/apps", {"name": name}, format="json").status_code == 201
    app_id = str(App.objects.get(name=name).id)
    # Stored raw, as Pier wrote lines before it escaped them.
    redis_client.xadd(applog.stream_key(app_id), {
        "ts": applog.now_timestamp(), "source": "app", "dyno": "web.1",
        "line": "hi\x1b]0;pwned\x07\x1b[2J\rforged\x9b31m"})
    result = CliRunner().invoke(cli, ["logs", "-a", name], obj=Env(tty=tty), env={
        "PIER_API_URL": live_server.url, "PIER_API_KEY": user.plaintext_token,
        "HOME": str(tmp_path)}, color=tty)
    assert result.exit_code == 0, result.output
    message = result.stdout.splitlines()[-1].split(": ", 1)[1]
    assert message == "hi\\x1b]0;pwned\\x07\\x1b[2J\\rforged\\x9b31m"
    if not tty:
        assert "\x1b" not in result.stdout and "\r" not in result.stdout
