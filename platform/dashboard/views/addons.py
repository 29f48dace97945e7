"""The Resources tab's add-on actions: create, attach, detach, destroy, and backups.

Each action is one service call, as the API's; a refused one shows the tab again with its
error (422), a done one goes back to the add-ons with a message.
"""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect
from django.urls import reverse

from api import selectors
from api.errors import PierError
from api.services import addon_backups
from api.services import addons as addon_services
from dashboard import forms
from dashboard.views.common import app_or_404, login_get, login_post, submit
from dashboard.views.resources import render_resources


def _back(app):
    return redirect(reverse("dashboard:resources", kwargs={"app": app.name}) + "#addons")


def _finish(request, app, form, done: str):
    """Go back with ``done``, or show the form's errors (from the form or the service)."""
    if form.errors:
        errors = [error for field in form.errors.values() for error in field]
        return render_resources(request, app, status=422, addon_errors=errors)
    messages.success(request, done)
    return _back(app)


@login_post
def addon_create(request, app):
    obj = app_or_404(request, app)
    form = forms.AddonCreateForm(request.POST)
    addon = submit(form, lambda data: addon_services.addon_create(
        app=obj, user=request.user, service=data["service"], plan=data["plan"] or None,
        alias=data["alias"] or None))
    if addon is None:
        return render_resources(request, obj, status=422, addon_form=form)
    var = addon.attachments.get(app=obj).config_var
    messages.success(request, f"Created {addon.name}: {obj.name} gets {var} in a new release.")
    return _back(obj)


def _attach(*, user, target: str, name: str, alias: str | None):
    app = selectors.app_get(user=user, name=target)
    return addon_services.addon_attach(app=app, user=user, name=name, alias=alias)


@login_post
def addon_attach(request, app, name):
    obj = app_or_404(request, app)
    form = forms.AddonAttachForm(request.POST)
    submit(form, lambda data: _attach(user=request.user, target=data["target"], name=name,
                                      alias=data["alias"] or None))
    return _finish(request, obj, form,
                   f"Attached {name} to {form.cleaned_data.get('target')}.")


@login_post
def addon_detach(request, app, name):
    obj = app_or_404(request, app)
    form = forms.Form(request.POST)
    submit(form, lambda data: addon_services.addon_detach(app=obj, user=request.user, name=name))
    return _finish(request, obj, form, f"Detached {name} from {obj.name}.")


@login_post
def addon_destroy(request, app, name):
    obj = app_or_404(request, app)
    form = forms.ConfirmForm(request.POST, app_name=obj.name, action=f"destroy {name}")
    submit(form, lambda data: addon_services.addon_destroy(
        app=obj, user=request.user, name=name, confirm=data["confirm"]))
    return _finish(request, obj, form, f"Destroyed {name} (a final backup of a database "
                                       "is kept).")


def _capture(*, app, name: str):
    addon = addon_services.addon_for_app(app=app, service="postgresql", name=name)
    return addon_backups.backup_capture(addon=addon)


@login_post
def backup_capture(request, app, name):
    obj = app_or_404(request, app)
    form = forms.Form(request.POST)
    backup = submit(form, lambda data: _capture(app=obj, name=name))
    label = backup.label if backup else ""
    return _finish(request, obj, form, f"Capturing backup {label} of {name}.")


def _restore(*, app, name: str, label: str, confirm: str):
    addon = addon_services.addon_for_app(app=app, service="postgresql", name=name)
    return addon_backups.backup_restore(app=app, addon=addon, label=label, confirm=confirm)


@login_post
def backup_restore(request, app, name, label):
    obj = app_or_404(request, app)
    form = forms.ConfirmForm(request.POST, app_name=obj.name,
                             action=f"restore {label} into {name}")
    submit(form, lambda data: _restore(app=obj, name=name, label=label, confirm=data["confirm"]))
    return _finish(request, obj, form, f"Restored {label} into {name}.")


@login_get
def backup_download(request, app, name, label):
    obj = app_or_404(request, app)
    try:
        addon = addon_services.addon_for_app(app=obj, service="postgresql", name=name)
        backup, path = addon_backups.backup_file(addon=addon, label=label)
    except PierError as e:
        messages.error(request, e.message)
        return _back(obj)
    return FileResponse(path.open("rb"), as_attachment=True,
                        filename=f"{addon.name}-{backup.label}.dump")
