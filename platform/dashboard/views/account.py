"""The account page: API tokens, created with a name and shown in plaintext only once."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from api.errors import PierError
from api.services import tokens as token_services
from dashboard.forms import TokenForm
from dashboard.views.common import call, login_required


def _render(request, form, status=200, **extra):
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True).order_by("-created_at")
    context = {"tokens": tokens, "form": form, **extra}
    return render(request, "dashboard/account.html", context, status=status)


@require_GET
@login_required
def account(request):
    return _render(request, TokenForm())


@require_POST
@login_required
def token_create(request):
    form = TokenForm(request.POST)
    created = None
    if form.is_valid():
        name = form.cleaned_data["name"]
        created = call(
            form, token_services.token_create, field="name", user=request.user, name=name
        )
    if created is None:
        return _render(request, form, status=422)
    token, plaintext = created
    # Rendered, not redirected: the plaintext exists only in this response.
    response = _render(request, TokenForm(), new_token=token, plaintext=plaintext)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def token_revoke(request, token_id):
    try:
        token_services.token_revoke(user=request.user, token_id=token_id)
    except PierError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Token revoked: clients using it can no longer sign in.")
    return redirect("dashboard:account")
