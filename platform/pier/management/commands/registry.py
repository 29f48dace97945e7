"""The `registry` process: Docker Distribution, configured by Pier, behind Pier's tokens.

It also collects the registry's garbage, which must never run while pushes are taken (a
layer uploaded for a manifest not yet pushed would go): at start, before serving, and
whenever retention or a destroyed app asks (registry.collection), with the registry
restarted read-only for those seconds (pulls go on; pushes are refused, saying why).
"""

import logging
import shutil
import signal
import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.collection import collection_wanted
from registry.config import RegistrySetup, config_write, registry_setup
from registry.keys import keys_ensure

log = logging.getLogger(__name__)
POLL_SECONDS = 5.0


class Command(BaseCommand):
    help = "Run Pier's image registry (PIER_REGISTRY): write its config and keys, then serve."

    def handle(self, *args, **options):
        setup = registry_setup()
        if setup is None:
            raise CommandError("PIER_REGISTRY is not set: there is no registry to run")
        binary = shutil.which("docker-registry")
        if binary is None:
            raise CommandError("docker-registry is not installed: run `make deps` "
                               "(or apt-get install docker-registry)")
        keys_ensure(setup.directory)
        _collect(binary, setup)
        self.stdout.write(f"registry: {setup.address} (listening on {setup.listen}), "
                          f"tokens from {setup.realm}")
        self.stdout.flush()
        children: list[subprocess.Popen] = []

        def stop(signum, _frame):
            # Signalled alone (not with its process group), the registry must go with it:
            # left running, it would hold the port against the next one respawn.py starts.
            for child in children:
                _stop(child)
            raise SystemExit(128 + signum)

        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, stop)
        while True:
            children[:] = [_serve(binary, setup, read_only=False)]
            if not _until_collection_wanted(children[0]):
                raise SystemExit(children[0].returncode)
            _stop(children[0])
            children[:] = [_serve(binary, setup, read_only=True)]
            _collect(binary, setup)
            _stop(children[0])


def _serve(binary: str, setup: RegistrySetup, *, read_only: bool) -> subprocess.Popen:
    config = config_write(setup, read_only=read_only)
    return subprocess.Popen([binary, "serve", str(config)])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        process.wait()


def _collect(binary: str, setup: RegistrySetup) -> None:
    """Delete the blobs no manifest references any more, and untagged manifests."""
    config = Path(config_write(setup, read_only=True))
    done = subprocess.run([binary, "garbage-collect", "--delete-untagged", str(config)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        log.warning("registry: garbage collection failed: %s", done.stderr[-500:])


def _until_collection_wanted(process: subprocess.Popen) -> bool:
    """Wait until a collection is wanted (True) or the registry has exited (False)."""
    while True:
        try:
            process.wait(timeout=POLL_SECONDS)
            return False
        except subprocess.TimeoutExpired:
            if collection_wanted():
                return True
