"""The `router` process: Caddy, started with the last routing table the runtime pushed."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand

from pier import runtime_config
from runtime.router.caddy import build_config, caddy_binary, write_atomically


class Command(BaseCommand):
    help = "Run the router (Caddy); the runtime configures it through its admin API."

    def handle(self, *args, **options):
        opts = runtime_config.router_options()
        config_file = Path(opts.pop("config_file"))
        if not config_file.exists():
            write_atomically(config_file, json.dumps(build_config([], **opts)).encode())
        caddy = caddy_binary()
        os.execv(caddy, [caddy, "run", "--config", str(config_file)])
