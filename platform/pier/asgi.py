import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pier.settings")
django_application = get_asgi_application()

from api.attach import with_attach  # noqa: E402 - needs the apps loaded above
from logs.asgi import with_log_streams  # noqa: E402
from pier.bodylimit import with_body_limit  # noqa: E402

# Log tails and terminal sessions are served beside Django's handler: see logs/asgi.py.
# Body limits sit in front of Django, which spools a whole body before any view runs.
application = with_attach(with_log_streams(with_body_limit(django_application)))
