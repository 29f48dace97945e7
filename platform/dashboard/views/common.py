"""What every dashboard view shares: login, the app lookup, and service errors on forms."""

from functools import wraps
from urllib.parse import urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import render, resolve_url

from api import selectors
from api.errors import NotFound, PierError
from api.models import App


def login_required(view):
    """Send anonymous users to the login page, then back to the page they wanted.

    An htmx request gets an HX-Redirect instead of a redirect, so the login page replaces
    the whole page rather than being swapped into a fragment; `next` is the page the user
    was looking at, not the fragment's URL.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.headers.get("HX-Request"):
            current = urlparse(request.headers.get("HX-Current-URL", ""))
            target = current.path + (f"?{current.query}" if current.query else "")
            login = redirect_to_login(target or "/", resolve_url(settings.LOGIN_URL))
            return HttpResponse(status=401, headers={"HX-Redirect": login.url})
        return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))

    return wrapped


def app_or_404(request, name: str) -> App:
    """Return the app if the user may see it; 404 otherwise, as for an app that doesn't exist."""
    try:
        return selectors.app_get(user=request.user, name=name)
    except NotFound as e:
        raise Http404(e.message) from e


def call(form, service, *, field: str | None = None, **kwargs):
    """Call a service; on a PierError put its message on the form and return None."""
    try:
        return service(**kwargs)
    except PierError as e:
        form.add_error(field, e.message)
        return None


def flash(request, service, *, done: str, **kwargs) -> bool:
    """Call a service; flash its error, or ``done`` if it worked; return whether it did."""
    try:
        service(**kwargs)
    except PierError as e:
        messages.error(request, e.message)
        return False
    messages.success(request, done)
    return True


def app_context(app: App) -> dict:
    return {
        "app": app,
        "web_url": selectors.app_web_url(app=app),
        "git_url": selectors.app_git_url(app=app),
        "current_release": selectors.release_current(app=app),
    }


def render_app_page(request, app: App, tab: str, template: str, context=None, status=200):
    """Render one tab of an app's pages with the header every tab shares."""
    full = {**app_context(app), "tab": tab, **(context or {})}
    return render(request, template, full, status=status)


def is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))
