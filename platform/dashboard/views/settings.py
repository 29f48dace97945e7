"""An app's settings: config vars, domains and their HTTPS certificates, collaborators,
maintenance mode, deletion."""

import datetime

from django.conf import settings as django_settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from api import selectors
from api.services import apps as app_services
from api.services import certs as cert_services
from api.services import collaborators as collaborator_services
from api.services import config as config_services
from api.services import domains as domain_services
from dashboard import forms
from dashboard.views.common import (
    app_or_404,
    flash,
    login_get,
    login_post,
    render_app_page,
    submit,
)

# The context name of each section's form, where a bound one shows its errors.
SECTION_FORMS = {"config-vars": "config_form", "domains": "domain_form",
                 "collaborators": "collaborator_form"}


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


def _add(request, app, form, section: str, action, *, field: str | None = None):
    """Submit the form of a section to ``action`` (a service call returning what to say);
    go back to the section, or show the page with the form's errors in place."""
    done = submit(form, action, field=field)
    if done is None:
        return _invalid(request, app, **{SECTION_FORMS[section]: form})
    messages.success(request, done)
    return _back(app, section)


@login_get
def settings_page(request, app):
    obj = app_or_404(request, app)
    context = _settings_context(request, obj)
    return render_app_page(request, obj, "settings", "dashboard/app/settings.html", context)


@login_post
def config_set(request, app):
    obj = app_or_404(request, app)

    def set_var(data):
        config_services.config_update(app=obj, changes={data["key"]: data["value"]},
                                      user=request.user)
        return f"Set {data['key']}."

    return _add(request, obj, forms.ConfigVarForm(request.POST), "config-vars", set_var)


@login_post
def config_delete(request, app):
    obj = app_or_404(request, app)
    form = forms.ConfigDeleteForm(request.POST)
    if form.is_valid():
        key = form.cleaned_data["key"]
        flash(request, config_services.config_update, done=f"Removed {key}.",
              app=obj, changes={key: None}, user=request.user)
    return _back(obj, "config-vars")


@login_post
def domain_add(request, app):
    obj = app_or_404(request, app)
    form = forms.DomainForm(request.POST)
    return _add(request, obj, form, "domains", lambda data: "Added {}.".format(
        domain_services.domain_add(app=obj, hostname=data["hostname"]).hostname),
        field="hostname")


@login_post
def domain_remove(request, app):
    obj = app_or_404(request, app)
    hostname = request.POST.get("hostname", "")
    flash(request, domain_services.domain_remove, done=f"Removed {hostname}.",
          app=obj, hostname=hostname)
    return _back(obj, "domains")


@login_post
def collaborator_add(request, app):
    obj = app_or_404(request, app)
    form = forms.CollaboratorForm(request.POST)
    return _add(request, obj, form, "collaborators", lambda data: "Added {} as a collaborator."
                .format(collaborator_services.collaborator_add(
                    app=obj, user=request.user, email=data["email"]).user.email),
                field="email")


@login_post
def collaborator_remove(request, app):
    obj = app_or_404(request, app)
    email = request.POST.get("email", "")
    removed = flash(request, collaborator_services.collaborator_remove, done=f"Removed {email}.",
                    app=obj, user=request.user, email=email)
    if removed and email.strip().lower() == request.user.username:
        return redirect("dashboard:apps")  # removed themselves: the app is gone for them
    return _back(obj, "collaborators")


def _switch(request, app, form, *, what: str, section: str, act):
    """Hand the on/off a switch form says to ``act``; back to the section either way."""
    if form.is_valid():
        act(form.on)
    else:
        messages.error(request, f"Choose {what} on or off.")
    return _back(app, section)


@login_post
def maintenance(request, app):
    obj = app_or_404(request, app)
    return _switch(request, obj, forms.MaintenanceForm(request.POST), what="maintenance",
                   section="maintenance", act=lambda on: flash(
                       request, app_services.app_update, done=f"Maintenance mode is {_word(on)}.",
                       user=request.user, name=obj.name, maintenance=on))


@login_post
def certs_acm(request, app):
    obj = app_or_404(request, app)

    def act(on: bool):
        service = cert_services.acm_enable if on else cert_services.acm_disable
        done = ("Automated Certificate Management is on: certificates are being ordered."
                if on else "Automated Certificate Management is off.")
        flash(request, service, done=done, app=obj)

    return _switch(request, obj, forms.SwitchForm(request.POST),
                   what="Automated Certificate Management", section="https", act=act)


@login_post
def certs_redirect(request, app):
    obj = app_or_404(request, app)

    def act(on: bool):
        cert_services.https_redirect_set(app=obj, enabled=on)
        messages.success(request, f"Redirects from HTTP to HTTPS are {_word(on)}.")

    return _switch(request, obj, forms.SwitchForm(request.POST), what="HTTPS redirects",
                   section="https", act=act)


def _word(on: bool) -> str:
    return "on" if on else "off"


@login_post
def app_delete(request, app):
    obj = app_or_404(request, app)
    form = forms.AppDeleteForm(request.POST, app_name=obj.name)
    if submit(form, lambda data: _destroy(user=request.user, name=obj.name)):
        messages.success(request, f"Deleted {obj.name}.")
        return redirect("dashboard:apps")
    return _invalid(request, obj, delete_form=form)


def _destroy(*, user, name: str) -> bool:
    app_services.app_destroy(user=user, name=name)
    return True
