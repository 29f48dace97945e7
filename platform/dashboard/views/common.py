"""What every dashboard view shares: login, the app lookup, and service errors on forms."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import render, resolve_url
from django.views.decorators.http import require_GET, require_POST

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


def login_get(view):
    """A page: GET only, for users who are logged in."""
    return require_GET(login_required(view))


def login_post(view):
    """An action: POST only, for users who are logged in."""
    return require_POST(login_required(view))


def app_or_404(request, name: str) -> App:
    """Return the app if the user may see it; 404 otherwise, as for an app that doesn't exist."""
    try:
        return selectors.app_get(user=request.user, name=name)
    except NotFound as e:
        raise Http404(e.message) from e


def submit(form, action, /, *, field: str | None = None):
    """Return ``action(cleaned data)`` if the form is valid and the service it calls agrees;
    else None, with the service's error (a PierError) on the form."""
    if not form.is_valid():
        return None
    try:
        return action(form.cleaned_data)
    except PierError as e:
        form.add_error(field, e.message)
        return None


def flash(request, service, /, *, done: str | Callable[[Any], str], **kwargs) -> bool:
    """Call a service; flash its error, or ``done`` if it worked (a callable makes it from
    what the service returned); return whether it did."""
    try:
        result = service(**kwargs)
    except PierError as e:
        messages.error(request, e.message)
        return False
    messages.success(request, done(result) if callable(done) else done)
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
