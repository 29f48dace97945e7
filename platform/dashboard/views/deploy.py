"""How to deploy, the build history, and a build's output (polled while it runs)."""

from django.http import Http404
from django.shortcuts import render

from api import selectors
from api.errors import NotFound
from api.models import Build
from builds.logstream import read_file
from builds.paths import build_output_path
from dashboard.views.common import app_or_404, login_get, render_app_page

RUNNING = (Build.Status.PENDING, Build.Status.BUILDING)


def _build_or_404(app, build_id: str) -> Build:
    try:
        return selectors.build_get(app=app, build_id=build_id)
    except NotFound as e:
        raise Http404(e.message) from e


def _log_context(app, build: Build) -> dict:
    return {
        "app": app,
        "build": build,
        "log": read_file(build_output_path(build)),
        "running": build.status in RUNNING,
    }


@login_get
def deploy(request, app):
    obj = app_or_404(request, app)
    context = {"builds": obj.builds.select_related("creator")[:50]}
    return render_app_page(request, obj, "deploy", "dashboard/app/deploy.html", context)


@login_get
def build_detail(request, app, build_id):
    obj = app_or_404(request, app)
    build = _build_or_404(obj, build_id)
    return render_app_page(
        request, obj, "deploy", "dashboard/app/build.html", _log_context(obj, build)
    )


@login_get
def build_log(request, app, build_id):
    """Return the build's log fragment; it keeps polling itself while the build runs."""
    obj = app_or_404(request, app)
    build = _build_or_404(obj, build_id)
    return render(request, "dashboard/partials/build_log.html", _log_context(obj, build))
