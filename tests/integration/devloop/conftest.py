"""Real parts for the developer-loop tests: an HTTP receiver, a one-off worker, real builds."""

import json
import threading
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings

import api.tasks  # noqa: F401 - registers the tasks before a test worker starts
from pier.celery import app as celery_app
from tests.helpers import celery_broker


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
def devloop_build(real_build):
    return real_build
