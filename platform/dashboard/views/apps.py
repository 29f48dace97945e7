"""The apps list, creating an app, and an app's overview."""

from django.contrib import messages
from django.shortcuts import redirect, render

from api import selectors
from api.models import App
from api.services import apps as app_services
from dashboard.forms import AppCreateForm
from dashboard.views.common import app_or_404, login_get, login_post, render_app_page, submit

RECENT_RELEASES = 5


def app_state(app: App, release) -> str:
    """Describe the app's desired state in a word or two.

    Whether its processes actually run is the runtime's to report (see the process list);
    this says only what Pier has been asked to run.
    """
    if release is None or release.build_id is None:
        return "not deployed"
    if app.maintenance:
        return "maintenance"
    running = sum(row.quantity for row in app.formation.all())
    return "deployed" if running else "scaled to zero"


def _app_rows(user) -> list[dict]:
    rows = []
    for app in selectors.apps_for_user(user=user).select_related("owner"):
        release = selectors.release_current(app=app)
        last_build = app.builds.filter(status="succeeded").first()
        rows.append(
            {
                "app": app,
                "release": release,
                "state": app_state(app, release),
                "web_url": selectors.app_web_url(app=app),
                "last_deploy": last_build.finished_at or last_build.created_at
                if last_build
                else None,
            }
        )
    return rows


def _render_list(request, form, status=200):
    context = {"title": "Apps", "rows": _app_rows(request.user), "form": form}
    return render(request, "dashboard/apps.html", context, status=status)


@login_get
def app_list(request):
    return _render_list(request, AppCreateForm())


@login_post
def app_create(request):
    form = AppCreateForm(request.POST)
    app = submit(form, lambda data: app_services.app_create(
        user=request.user, name=data["name"] or None), field="name")
    if app is None:
        return _render_list(request, form, status=422)
    messages.success(request, f"Created {app.name}. Deploy it with git push.")
    return redirect("dashboard:deploy", app=app.name)


@login_get
def app_overview(request, app):
    obj = app_or_404(request, app)
    release = selectors.release_current(app=obj)
    context = {
        "state": app_state(obj, release),
        "dynos": selectors.dynos_list(app=obj),
        "releases": obj.releases.select_related("creator")[:RECENT_RELEASES],
        "latest_build": obj.builds.first(),
    }
    return render_app_page(request, obj, "overview", "dashboard/app/overview.html", context)
