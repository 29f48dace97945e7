"""``python -m runtime``: run the scheduler loop against a desired-state JSON file.

The control plane's management command will call :func:`runtime.loop.run_forever` with a
function reading the database instead; this entry point serves development and tests.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from runtime.backends import DEFAULT_BACKEND, load_backend
from runtime.errors import PierRuntimeError
from runtime.loop import file_source, redis_event_sink, run_forever, run_once
from runtime.reconciler import Event, Reconciler
from runtime.router import DEFAULT_ROUTER, load_router


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m runtime", description=__doc__)
    parser.add_argument("--desired", required=True, help="JSON file with the desired state")
    parser.add_argument("--backend", default=env("PIER_RUNTIME_BACKEND", DEFAULT_BACKEND))
    parser.add_argument("--router", default=env("PIER_ROUTER", DEFAULT_ROUTER))
    parser.add_argument("--router-dir", default=env("PIER_ROUTER_DIR"),
                        help="the router's sockets and config files (as its process uses)")
    parser.add_argument("--router-listen",
                        default=f":{env('PIER_ROUTER_PORT', '8080')}")
    parser.add_argument("--access-log", default=env("PIER_ROUTER_ACCESS_LOG", "stdout"))
    parser.add_argument("--domain", default=env("PIER_DOMAIN", "localhost"))
    parser.add_argument("--redis-url", default=env("REDIS_URL"))
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE",
                        help="add to every container and only see containers carrying it")
    return parser.parse_args(argv)


def print_event(event: Event) -> None:
    print(f"{event.app} pier[{event.process or 'pier'}]: {event.message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        labels = dict(item.split("=", 1) for item in args.label)
        backend = load_backend(args.backend, **({"labels": labels} if labels else {}))
        router_options = {}
        if args.router_dir:
            router_options = dict(state_dir=args.router_dir, listen=args.router_listen,
                                  access_log=args.access_log)
        router = load_router(args.router, **router_options)
    except PierRuntimeError as e:
        print(f"runtime: {e}", file=sys.stderr)
        return 2
    sinks = [print_event]
    if args.redis_url:
        sinks.append(redis_event_sink(args.redis_url))
    reconciler = Reconciler(backend, router, domain=args.domain,
                            events=lambda event: [sink(event) for sink in sinks])
    source = file_source(args.desired)
    if args.once:
        result = run_once(source, reconciler)
        return 0 if result is not None and not result.errors else 1
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    run_forever(source, reconciler, interval=args.interval, redis_url=args.redis_url,
                stop=stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
