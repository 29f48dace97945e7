"""The Logs tab: a live tail of the app's log stream (SSE from the log-stream endpoint)."""


from dashboard.views.common import app_or_404, login_get, render_app_page


@login_get
def logs(request, app):
    obj = app_or_404(request, app)
    return render_app_page(request, obj, "logs", "dashboard/app/logs.html")
