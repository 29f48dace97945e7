"""The Celery app of the `worker` process: builds and release phases."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pier.settings")

app = Celery("pier")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["builds", "api"])
