"""The Celery app of the `worker` process: builds and release phases."""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pier.settings")

app = Celery("pier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["builds", "api"])


@beat_init.connect
def _renewals_at_start(sender, **kwargs):
    # Beat's first hourly check is an hour away: a new PIER_API_HOST gets its order now.
    sender.app.send_task("api.certs_renew")
