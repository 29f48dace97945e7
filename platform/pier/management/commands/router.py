"""The `router` process: the configured router, serving the last table the runtime applied."""

from django.conf import settings
from django.core.management.base import BaseCommand

from pier import runtime_config


class Command(BaseCommand):
    help = "Run the router (PIER_ROUTER); the runtime changes its routing table while it runs."

    def handle(self, *args, **options):
        https = runtime_config.router_options().get("https_listen")
        self.stdout.write(f"router: {settings.PIER_ROUTER} on :{settings.PIER_ROUTER_PORT}"
                          + (f", HTTPS on {https}" if https else ""))
        self.stdout.flush()
        raise SystemExit(runtime_config.router().serve())
