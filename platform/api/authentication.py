"""Bearer-token authentication for the API (and, through token_user, for git pushes)."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from api.models import ApiToken
from api.services.tokens import token_hash

# Writing last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_user(token: str):
    """Return the active user owning token, or None."""
    try:
        row = ApiToken.objects.select_related("user").get(
            key_hash=token_hash(token), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not row.user.is_active:
        return None
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not token.strip():
            raise exceptions.AuthenticationFailed(
                "malformed Authorization header: use 'Authorization: Bearer <token>'"
            )
        user = token_user(token.strip())
        if user is None:
            raise exceptions.AuthenticationFailed(
                "invalid or revoked API token: run `pier login` to get a new one"
            )
        return user, None

    def authenticate_header(self, request):
        return self.keyword
