"""Celery task of builds: takes the build's id and calls builds.services.build_run."""

from celery import shared_task

from builds.services import build_run


@shared_task(name="builds.run", acks_late=True)
def build_run_task(build_id: str) -> str:
    return build_run(build_id=build_id).status
