"""The control plane's 404: a redirect where only a trailing slash differs, else a page."""

from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve


def not_found(request, exception=None):
    """Answer an unknown path: JSON under /api/, the dashboard's own page elsewhere."""
    path = request.path
    if request.method in ("GET", "HEAD") and path != "/" and path.endswith("/"):
        bare = path.rstrip("/")
        try:
            resolve(bare)
        except Resolver404:
            pass
        else:
            query = request.META.get("QUERY_STRING", "")
            return HttpResponsePermanentRedirect(bare + (f"?{query}" if query else ""))
    if path.startswith("/api/"):
        message = f"There is no API endpoint at {path}. The API's paths are in /api/schema."
        return JsonResponse({"id": "not_found", "message": message}, status=404)
    return render(request, "dashboard/404.html", {"path": path}, status=404)
