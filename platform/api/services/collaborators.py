from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from api.errors import Conflict, Forbidden, Invalid, NotFound
from api.models import App, Collaborator


def collaborator_add(*, app: App, user, email: str) -> Collaborator:
    if app.owner_id != user.pk:
        raise Forbidden(f"only the owner ({app.owner.email}) can add collaborators to {app.name}")
    email = (email or "").strip().lower()
    other = get_user_model().objects.filter(username=email).first()
    if other is None:
        raise NotFound(f"no Pier user with email {email!r}: ask an admin to create one")
    if other.pk == app.owner_id:
        raise Invalid(f"{email} owns {app.name} already")
    try:
        with transaction.atomic():
            return Collaborator.objects.create(app=app, user=other)
    except IntegrityError:
        raise Conflict(f"{email} is already a collaborator on {app.name}") from None


def collaborator_remove(*, app: App, user, email: str) -> None:
    email = (email or "").strip().lower()
    # Collaborators may remove themselves; only the owner may remove others.
    if app.owner_id != user.pk and user.username != email:
        raise Forbidden(f"only the owner ({app.owner.email}) can remove collaborators")
    deleted, _ = Collaborator.objects.filter(app=app, user__username=email).delete()
    if not deleted:
        raise NotFound(f"{email} is not a collaborator on {app.name}")
