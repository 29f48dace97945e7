"""``python -m runtime.logs_main``: ship app and router logs into Redis, feed the drains.

Runs until SIGTERM or SIGINT. ``--drains-json`` names a file holding
``{"app": ["syslog+tls://host:port", ...]}``, read again every ``--drains-refresh``
seconds; the control plane passes :class:`runtime.drains.DrainManager` a function
reading its database instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from runtime.backends import DEFAULT_BACKEND, load_backend
from runtime.drains import DrainManager, DrainsSource
from runtime.errors import PierRuntimeError
from runtime.logship import AccessLogTail
from runtime.outbound import Policy


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m runtime.logs_main", description=__doc__)
    parser.add_argument("--redis-url", default=env("REDIS_URL"), required=not env("REDIS_URL"))
    parser.add_argument("--backend", default=env("PIER_RUNTIME_BACKEND", DEFAULT_BACKEND))
    parser.add_argument("--access-log", default=env("PIER_ROUTER_ACCESS_LOG"),
                        help="the router's JSON access log file to ship as router lines")
    parser.add_argument("--drains-json", help="JSON file: {app: [drain URL, ...]}")
    parser.add_argument("--drains-refresh", type=float, default=10.0)
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="only follow containers carrying this label")
    return parser.parse_args(argv)


def file_drains(path: str | os.PathLike) -> DrainsSource:
    """Return a drains source reading ``{app: [url, ...]}`` from a JSON file each time."""
    path = Path(path)

    def read() -> dict[str, list[str]]:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected an object of app: [drain URL, ...]")
        return {str(app): [str(url) for url in urls] for app, urls in data.items()}

    return read


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    import redis

    try:
        client = redis.Redis.from_url(args.redis_url)
        labels = dict(item.split("=", 1) for item in args.label)
        shipper = load_backend(args.backend, labels=labels).output_shipper(client)
    except (PierRuntimeError, ValueError) as e:
        print(f"logs: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    shipper.start()
    tail = None
    if args.access_log and args.access_log not in ("stdout", "stderr", "discard"):
        tail = AccessLogTail(args.access_log, shipper.writer, client, dyno_for=shipper.dyno_for)
        threading.Thread(target=tail.run, args=(stop,), name="router-log", daemon=True).start()
    drains = None
    if args.drains_json:
        drains = DrainManager(client, file_drains(args.drains_json), refresh=args.drains_refresh,
                              policy=Policy.from_env())
        drains.start()
    while not stop.wait(1.0):
        pass
    if drains:
        drains.stop()
    shipper.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
