"""Helpers of the runtime integration tests (a unique module name: tests are not packages)."""

from __future__ import annotations

import time

from runtime.desired import DesiredApp, HealthCheck, ProcessSpec

IMAGE = "pier/test-busybox:1"
# Serves "release <n>" on $PORT; RELEASE comes from the app's config.
SERVE = (
    'mkdir -p /tmp/www && echo "release $RELEASE" > /tmp/www/index.html && '
    "exec httpd -f -p $PORT -h /tmp/www"
)


def make_app(name, release=1, web=1, command=SERVE, boot_timeout=20.0, image=IMAGE, **kw):
    return DesiredApp(
        name=name,
        release=release,
        image=image,
        env={"RELEASE": str(release)},
        formation=(ProcessSpec("web", web, command, memory_mb=64, max_processes=64),),
        healthcheck=HealthCheck(boot_timeout=boot_timeout),
        stop_grace=2.0,
        **kw,
    )


def converge(reconciler, desired, timeout=60.0):
    """Reconcile until nothing is pending; return every result along the way."""
    results = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results.append(reconciler.reconcile(desired))
        if not results[-1].pending:
            return results
        time.sleep(0.2)
    raise AssertionError(f"did not converge in {timeout}s: {results[-1]}")
