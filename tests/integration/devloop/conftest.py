"""Real parts for the developer-loop tests: an HTTP receiver, a one-off worker, real builds."""

import json
import tarfile
import threading
import time
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import docker
import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

import api.tasks  # noqa: F401 - registers the tasks before a test worker starts
from pier.celery import app as celery_app
from tests.helpers import celery_broker

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "apps"


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every request, answers with ``codes``."""

    def __init__(self):
        self.requests: list[dict] = []
        self.codes: list[int] = []  # answers in order; 204 once they run out
        self.got = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.got:
                    code = receiver.codes.pop(0) if receiver.codes else 204
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    receiver.got.notify_all()
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        with self.got:
            assert self.got.wait_for(lambda: len(self.requests) >= count, timeout), (
                f"{len(self.requests)} of {count} deliveries arrived: {self.events()}")
        return self.requests

    def events(self) -> list[tuple[str, str]]:
        return [(json.loads(r["body"])["event"], json.loads(r["body"])["action"])
                for r in self.requests]


@pytest.fixture
def devloop_receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(autouse=True)
def devloop_broker(redis_url, redis_client):
    """Queue tasks on the test's Redis (what the services enqueue waits there for a worker)."""
    with celery_broker(redis_url):
        yield


@pytest.fixture
def devloop_oneoff_worker(devloop_broker):
    """A real Celery worker on the one-off queue (the Procfile's `oneoff`), on the test Redis."""
    with ExitStack() as started:
        started.enter_context(start_worker(
            celery_app, pool="threads", concurrency=3, perform_ping_check=False,
            queues=[django_settings.PIER_ONEOFF_QUEUE], hostname="oneoff@devloop-test",
            shutdown_timeout=30,
        ))
        yield


@pytest.fixture
def devloop_build(user, redis_client, settings, tmp_path, docker_client, stack):  # noqa: F811
    """Return a function running a real build (buildpacks, image, release) of source files.

    Every app's images (built or promoted) and containers are removed at the end.
    """
    from api.models import App, Build
    from builds import images
    from builds import services as build_services
    from builds.paths import build_dir

    settings.PIER_BUILDS_DIR = tmp_path / "builds"

    def build(app_name: str, files: dict[str, str], base: str = "procfile-only") -> Build:
        app = App.objects.get(name=app_name)
        record = Build.objects.create(app=app, creator=user, source_sha="c0ffee" + "0" * 34)
        build_dir(record).mkdir(parents=True)
        source = tmp_path / f"src-{record.id}"
        source.mkdir()
        for path in (FIXTURES / base).iterdir():
            (source / path.name).write_bytes(path.read_bytes())
        for name, text in files.items():
            (source / name).write_text(text)
        with tarfile.open(build_dir(record) / "source.tar", "w") as tar:
            tar.add(source, arcname=".")
        redis_client.set(build_services.listener_key(record.id), "1")
        return build_services.build_run(build_id=record.id)

    yield build
    apps = list(App.objects.all())
    for attempt in range(20):  # a runtime's stop of an old process may still be under way
        try:
            for app in apps:
                for container in docker_client.containers.list(
                        all=True, filters={"label": f"pier.app-id={app.id}"}):
                    container.remove(force=True)
            for app in apps:
                images.purge(app_id=app.id)
            break
        except docker.errors.APIError:
            if attempt == 19:
                raise
            time.sleep(0.5)
