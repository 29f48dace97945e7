"""Run the Celery worker of detached one-offs: the Procfile's `oneoff` process."""

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run detached one-off processes (`pier run --detach`) from their own queue."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=4)

    def handle(self, *args, concurrency, **options):
        from pier.celery import app

        # The queue's name depends on the data dir (PIER_PLATFORM_ID): hence a command, not
        # a fixed `celery worker -Q NAME` line in the Procfile.
        app.worker_main([
            "worker", "--queues", settings.PIER_ONEOFF_QUEUE, "--hostname", "oneoff@%h",
            "--concurrency", str(concurrency), "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
        ])
