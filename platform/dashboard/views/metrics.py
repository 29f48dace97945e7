"""The Metrics tab: charts drawn in the browser (uPlot) from the same data as the API's."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from api.errors import Invalid
from api.metrics import metrics_read
from dashboard.views.common import app_or_404, login_required, render_app_page

RANGES = ("1h", "24h", "7d")


@require_GET
@login_required
def metrics(request, app):
    obj = app_or_404(request, app)
    since = request.GET.get("since") if request.GET.get("since") in RANGES else "1h"
    return render_app_page(request, obj, "metrics", "dashboard/app/metrics.html",
                           {"since": since, "ranges": RANGES})


@require_GET
@login_required
def metrics_data(request, app):
    obj = app_or_404(request, app)
    try:
        data = metrics_read(app=obj, since=request.GET.get("since") or "1h")
    except Invalid as e:
        return JsonResponse({"message": e.message}, status=422)
    return JsonResponse(data)
