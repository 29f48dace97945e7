"""Releases, and rolling back to one of them after a confirmation."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

from api.errors import PierError
from api.services import releases as release_services
from dashboard.views.common import app_or_404, login_required, render_app_page


@require_http_methods(["GET"])
@login_required
def activity(request, app):
    obj = app_or_404(request, app)
    context = {"releases": obj.releases.select_related("creator", "build")[:100],
               "autoscale_events": obj.autoscale_events.all()[:50]}
    return render_app_page(request, obj, "activity", "dashboard/app/activity.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def rollback(request, app, version):
    """GET asks for confirmation; POST rolls back to `version` as a new release."""
    obj = app_or_404(request, app)
    try:
        target = release_services.release_get(app=obj, version=version)
    except PierError as e:
        messages.error(request, e.message)
        return redirect("dashboard:activity", app=obj.name)
    if request.method == "POST":
        try:
            release = release_services.release_rollback(app=obj, user=request.user, version=version)
        except PierError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"Rolled back to v{version}: now running {release.label}.")
        return redirect("dashboard:activity", app=obj.name)
    context = {"target": target}
    return render_app_page(request, obj, "activity", "dashboard/app/rollback.html", context)
