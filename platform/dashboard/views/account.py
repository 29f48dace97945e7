"""The account page: API tokens, created with a name and shown in plaintext only once."""

from django.contrib import messages
from django.shortcuts import redirect, render

from api.errors import PierError
from api.services import tokens as token_services
from dashboard.forms import TokenForm
from dashboard.views.common import login_get, login_post, submit


def _render(request, form, status=200, **extra):
    tokens = request.user.api_tokens.filter(revoked_at__isnull=True).order_by("-created_at")
    context = {"title": "Account", "subtitle": f"Signed in as {request.user.email}",
               "tokens": tokens, "form": form, **extra}
    return render(request, "dashboard/account.html", context, status=status)


@login_get
def account(request):
    return _render(request, TokenForm())


@login_post
def token_create(request):
    form = TokenForm(request.POST)
    created = submit(form, lambda data: token_services.token_create(
        user=request.user, name=data["name"]), field="name")
    if created is None:
        return _render(request, form, status=422)
    token, plaintext = created
    # Rendered, not redirected: the plaintext exists only in this response.
    response = _render(request, TokenForm(), new_token=token, plaintext=plaintext)
    response["Cache-Control"] = "no-store"
    return response


@login_post
def token_revoke(request, token_id):
    try:
        token_services.token_revoke(user=request.user, token_id=token_id)
    except PierError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "Token revoked: clients using it can no longer sign in.")
    return redirect("dashboard:account")
