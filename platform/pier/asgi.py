import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pier.settings")
django_application = get_asgi_application()

from logs.asgi import with_log_streams  # noqa: E402 - needs the apps loaded above

# Log tails are served beside Django's handler: see logs/asgi.py for why.
application = with_log_streams(django_application)
