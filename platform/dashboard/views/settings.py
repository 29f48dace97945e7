"""An app's settings: config vars, domains and their HTTPS certificates, collaborators,
maintenance mode, deletion."""

import datetime

from django.conf import settings as django_settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from api import selectors
from api.services import apps as app_services
from api.services import certs as cert_services
from api.services import collaborators as collaborator_services
from api.services import config as config_services
from api.services import domains as domain_services
from dashboard import forms
from dashboard.views.common import app_or_404, call, flash, login_required, render_app_page


def _settings_context(request, app, **bound) -> dict:
    """Return the page's context; `bound` holds forms with errors to show in place."""
    collaborators = app.collaborator_set.select_related("user").order_by("created_at")
    context = {
        "config_vars": sorted(selectors.config_current(app=app).values.items()),
        "reveal": request.GET.get("reveal") == "1",
        "domains": app.domains.all(),
        "https": _https_context(app),
        "dns_target": f"{app.name}.{django_settings.PIER_DOMAIN}",
        "collaborators": [row.user for row in collaborators],
        "is_owner": app.owner_id == request.user.pk,
        "config_form": forms.ConfigVarForm(),
        "domain_form": forms.DomainForm(),
        "collaborator_form": forms.CollaboratorForm(),
        "delete_form": forms.AppDeleteForm(app_name=app.name),
    }
    context.update(bound)
    return context


def _https_context(app) -> dict:
    status = cert_services.certificate_status(app=app)
    expires = status["not_after"] and datetime.datetime.fromisoformat(status["not_after"])
    return {**status, "expires": expires,
            "enabled": django_settings.PIER_ROUTER_HTTPS_PORT != 0}


def _invalid(request, app, **bound):
    context = _settings_context(request, app, **bound)
    return render_app_page(
        request, app, "settings", "dashboard/app/settings.html", context, status=422
    )


def _back(app, anchor: str):
    return redirect(reverse("dashboard:settings", kwargs={"app": app.name}) + f"#{anchor}")


@require_GET
@login_required
def settings_page(request, app):
    obj = app_or_404(request, app)
    context = _settings_context(request, obj)
    return render_app_page(request, obj, "settings", "dashboard/app/settings.html", context)


@require_POST
@login_required
def config_set(request, app):
    obj = app_or_404(request, app)
    form = forms.ConfigVarForm(request.POST)
    if form.is_valid():
        key, value = form.cleaned_data["key"].strip(), form.cleaned_data["value"]
        changes = {key: value}
        updated = call(
            form, config_services.config_update, app=obj, changes=changes, user=request.user
        )
        if updated is not None:
            messages.success(request, f"Set {key}.")
            return _back(obj, "config-vars")
    return _invalid(request, obj, config_form=form)


@require_POST
@login_required
def config_delete(request, app):
    obj = app_or_404(request, app)
    form = forms.ConfigDeleteForm(request.POST)
    if form.is_valid():
        key = form.cleaned_data["key"]
        flash(request, config_services.config_update, done=f"Removed {key}.",
              app=obj, changes={key: None}, user=request.user)
    return _back(obj, "config-vars")


@require_POST
@login_required
def domain_add(request, app):
    obj = app_or_404(request, app)
    form = forms.DomainForm(request.POST)
    if form.is_valid():
        hostname = form.cleaned_data["hostname"]
        domain = call(
            form, domain_services.domain_add, field="hostname", app=obj, hostname=hostname
        )
        if domain is not None:
            messages.success(request, f"Added {domain.hostname}.")
            return _back(obj, "domains")
    return _invalid(request, obj, domain_form=form)


@require_POST
@login_required
def domain_remove(request, app):
    obj = app_or_404(request, app)
    hostname = request.POST.get("hostname", "")
    flash(request, domain_services.domain_remove, done=f"Removed {hostname}.",
          app=obj, hostname=hostname)
    return _back(obj, "domains")


@require_POST
@login_required
def collaborator_add(request, app):
    obj = app_or_404(request, app)
    form = forms.CollaboratorForm(request.POST)
    if form.is_valid():
        email = form.cleaned_data["email"]
        added = call(
            form,
            collaborator_services.collaborator_add,
            field="email",
            app=obj,
            user=request.user,
            email=email,
        )
        if added is not None:
            messages.success(request, f"Added {added.user.email} as a collaborator.")
            return _back(obj, "collaborators")
    return _invalid(request, obj, collaborator_form=form)


@require_POST
@login_required
def collaborator_remove(request, app):
    obj = app_or_404(request, app)
    email = request.POST.get("email", "")
    removed = flash(request, collaborator_services.collaborator_remove, done=f"Removed {email}.",
                    app=obj, user=request.user, email=email)
    if removed and email.strip().lower() == request.user.username:
        return redirect("dashboard:apps")  # removed themselves: the app is gone for them
    return _back(obj, "collaborators")


@require_POST
@login_required
def maintenance(request, app):
    obj = app_or_404(request, app)
    form = forms.MaintenanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose maintenance on or off.")
        return _back(obj, "maintenance")
    state = "on" if form.enabled else "off"
    flash(request, app_services.app_update, done=f"Maintenance mode is {state}.",
          user=request.user, name=obj.name, maintenance=form.enabled)
    return _back(obj, "maintenance")


@require_POST
@login_required
def certs_acm(request, app):
    obj = app_or_404(request, app)
    form = forms.SwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Automated Certificate Management on or off.")
        return _back(obj, "https")
    service = cert_services.acm_enable if form.on else cert_services.acm_disable
    done = ("Automated Certificate Management is on: certificates are being ordered."
            if form.on else "Automated Certificate Management is off.")
    flash(request, service, done=done, app=obj)
    return _back(obj, "https")


@require_POST
@login_required
def certs_redirect(request, app):
    obj = app_or_404(request, app)
    form = forms.SwitchForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose HTTPS redirects on or off.")
        return _back(obj, "https")
    cert_services.https_redirect_set(app=obj, enabled=form.on)
    messages.success(request, f"Redirects from HTTP to HTTPS are {'on' if form.on else 'off'}.")
    return _back(obj, "https")


@require_POST
@login_required
def app_delete(request, app):
    obj = app_or_404(request, app)
    form = forms.AppDeleteForm(request.POST, app_name=obj.name)
    if form.is_valid():
        done = call(form, _destroy, user=request.user, name=obj.name)
        if done:
            messages.success(request, f"Deleted {obj.name}.")
            return redirect("dashboard:apps")
    return _invalid(request, obj, delete_form=form)


def _destroy(*, user, name: str) -> bool:
    app_services.app_destroy(user=user, name=name)
    return True
