"""Believe X-Forwarded-Proto only from the router on loopback.

Django's SECURE_PROXY_SSL_HEADER believes the header from anyone; a client reaching the
control plane's port directly could then claim HTTPS (and get HSTS, Secure-only CSRF
checks relaxed by scheme, https:// URLs built for it). The router runs on this host and
always overwrites the header, so only requests from a loopback address keep it. (Under
gunicorn's uvicorn workers, uvicorn has already taken the scheme from the header for
loopback peers only, and REMOTE_ADDR is then the client's: dropping the header changes
nothing there.)
"""

import ipaddress

from django.utils.deprecation import MiddlewareMixin


class ForwardedProtoFromLoopback(MiddlewareMixin):
    def process_request(self, request):
        if not _is_loopback(request.META.get("REMOTE_ADDR", "")):
            request.META.pop("HTTP_X_FORWARDED_PROTO", None)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False
