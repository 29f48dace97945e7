"""The `runtime` process: converge Docker and the router to what the database asks for."""

import logging
import signal
import threading
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from addons.container import engine as addon_engine
from api.desired import desired_addons, desired_state
from api.models import Release
from api.services.autoscale import autoscale_tick
from api.services.deploys import (
    dyno_crashes_report,
    release_mark,
    releases_without_web_settle,
    statuses_record,
)
from api.services.drains import drains_by_app
from builds.services import builds_ended
from pier import runtime_config
from runtime.drains import DrainManager
from runtime.errors import IsolationError, PierRuntimeError
from runtime.logship import AccessLogTail
from runtime.loop import NUDGE_CHANNEL, redis_event_sink, run_forever
from runtime.metrics import Collector, MetricsStore
from runtime.reconciler import Reconciler
from runtime.sleep import Sleeper, WakingRouter
from runtime.waker import Waker

log = logging.getLogger("pier.runtime")
# How often containers whose owner died (one-offs, builds) are looked for.
REAP_INTERVAL_SECONDS = 60.0
# How often autoscaling formations are judged (the metrics' finest buckets are 10 s).
AUTOSCALE_INTERVAL_SECONDS = 10.0


class ReportingReconciler:
    """Wrap a Reconciler so that each pass's verdicts reach the database."""

    def __init__(self, reconciler: Reconciler, backend, metrics: MetricsStore | None = None):
        self.reconciler, self.backend, self.metrics = reconciler, backend, metrics
        self.addons = addon_engine()  # add-on containers: kept running beside the apps
        self._next_reap = self._next_autoscale = 0.0

    def reconcile(self, desired):
        result = self.reconciler.reconcile(desired)
        for app, version in result.succeeded:
            release_mark(app_id=app, version=version, status=Release.Status.SUCCEEDED)
        for app, version in result.failed:
            release_mark(app_id=app, version=version, status=Release.Status.FAILED)
        releases_without_web_settle(apps=desired)
        processes = self.backend.list_processes()
        statuses_record(processes=processes)
        crashed = {(e.app, e.process) for e in result.events if e.kind == "crashed"}
        dyno_crashes_report(crashes=[p for p in processes if (p.app, p.name) in crashed])
        self._reap()
        self._autoscale()
        for error in self.addons.converge(desired_addons()):
            log.warning("%s", error)
        return result

    def _autoscale(self) -> None:
        """Let autoscaling formations follow their metrics, at most once an interval."""
        if self.metrics is None or time.monotonic() < self._next_autoscale:
            return
        self._next_autoscale = time.monotonic() + AUTOSCALE_INTERVAL_SECONDS
        try:
            for line in autoscale_tick(store=self.metrics):
                log.info("%s", line)
        except (DatabaseError, redis.RedisError) as e:
            log.warning("autoscaling skipped this time: %s", e)

    def _reap(self) -> None:
        """Remove orphan one-off and build containers, at most once a REAP_INTERVAL."""
        if time.monotonic() < self._next_reap:
            return
        self._next_reap = time.monotonic() + REAP_INTERVAL_SECONDS
        try:
            for name in self.backend.reap_orphans(build_ended=builds_ended):
                log.info("removed %s: the process that started it is gone", name)
        except (PierRuntimeError, redis.RedisError) as e:
            log.warning("orphan containers not reaped this time: %s", e)

    def backend_lost(self):
        self.reconciler.backend_lost()


class Command(BaseCommand):
    help = "Run Pier's runtime: start, scale, heal and route app processes (never stops them)."

    def handle(self, *args, **options):
        backend = runtime_config.runtime_backend()
        sink = redis_event_sink(settings.REDIS_URL)
        store = MetricsStore(redis.Redis.from_url(settings.REDIS_URL))
        metrics = Collector(store, backend.running_processes,
                            interval=settings.PIER_METRICS_INTERVAL)

        def events(event):
            log.info("%s %s: %s", event.app, event.process or "-", event.message)
            sink(event)
            metrics.event(event)

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        sleeper = Sleeper(redis_client=client, events=events,
                          nudge=lambda: client.publish(NUDGE_CHANNEL, "wake"))
        waker = Waker(sleeper)
        # Sleeping apps' requests go to the waker, on loopback: the router shares the host.
        router = WakingRouter(runtime_config.router(), sleeper, waker.start())
        reconciler = Reconciler(backend, router, events=events, domain=settings.PIER_DOMAIN)

        def source():
            close_old_connections()  # a long-lived process must not keep a dead connection
            return sleeper.prepare(desired_state())

        stop = threading.Event()
        # Stopping the runtime stops nothing of the apps: it only ends the loop.
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        shipping = self._start_log_shipping(backend, stop, sleeper, metrics)
        threading.Thread(target=metrics.run, args=(stop,), daemon=True, name="metrics").start()
        log.info("runtime started; router on :%s", settings.PIER_ROUTER_PORT)
        try:
            run_forever(
                source,
                ReportingReconciler(reconciler, backend, store),
                redis_url=settings.REDIS_URL,
                stop=stop,
            )
        except IsolationError as e:
            # Exiting is what a self-hoster notices (the Procfile runner, compose or systemd
            # shows it); running apps keep running, but none is started or restarted.
            log.critical("no app will run: %s", e)
            raise CommandError(f"Pier's runtime cannot isolate apps from this host: {e}") from e
        finally:
            waker.stop()
            for part in shipping:
                part.stop()

    def _start_log_shipping(self, backend, stop: threading.Event, sleeper: Sleeper,
                            metrics: Collector) -> list:
        """Ship app output and router lines into the log streams, and the streams to drains.

        The router's lines also tell the sleeper which apps got requests, and are counted by
        the metrics collector as they are read.
        """
        client = redis.Redis.from_url(settings.REDIS_URL)
        shipper = backend.output_shipper(client)
        shipper.start()
        access_log = runtime_config.router_options()["access_log"]
        tail = AccessLogTail(access_log, shipper.writer, client, dyno_for=shipper.dyno_for,
                             on_requests=sleeper.requests_seen, observe=metrics.observe)
        threading.Thread(target=tail.run, args=(stop,), daemon=True, name="router-log").start()

        def drains_source():
            close_old_connections()
            return drains_by_app()

        drains = DrainManager(client, drains_source, policy=runtime_config.outbound_policy())
        drains.start()
        return [drains, shipper]
