import hashlib
import secrets

from django.contrib.auth import authenticate, get_user_model
from django.utils import timezone

from api.errors import Conflict, Invalid, NotFound
from api.models import ApiToken
from api.throttle import login_failed, login_throttle_check

TOKEN_PREFIX = "pier_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """Mint a token for user; return the row and the plaintext, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid("token name must be 1-100 characters")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=token_hash(plaintext), prefix=plaintext[:12]
    )
    return token, plaintext


def token_revoke(*, user, token_id: int) -> None:
    updated = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise NotFound(f"no active token with id {token_id}")


def user_create(*, email: str, password: str | None = None):
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 150:
        raise Invalid(f"invalid email address {email!r}")
    User = get_user_model()
    if User.objects.filter(username=email).exists():
        raise Conflict(f"user {email} already exists")
    return User.objects.create_user(username=email, email=email, password=password)


def login_token_create(*, email: str, password: str, address: str, name: str = "pier login"):
    """Exchange an email and password for a new API token, unless guessing is throttled."""
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    login_throttle_check(account=email, address=address)
    user = authenticate(username=email, password=password or "")
    if user is None:
        login_failed(account=email, address=address)
        raise Invalid("wrong email or password")
    return token_create(user=user, name=name)
