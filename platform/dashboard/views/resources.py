"""The Resources tab: the formation (how many processes of each type run, and at which size)
and the app's add-ons with their backups (their actions are in ``dashboard.views.addons``)."""

from django.contrib import messages
from django.shortcuts import redirect, render

from addons.services import services
from addons.services.base import PLANS
from api import selectors
from api.models import AddonBackup
from api.services import formation as formation_services
from api.validation import DYNO_SIZES
from dashboard.forms import AddonCreateForm, ScaleForm
from dashboard.views.common import (
    app_context,
    app_or_404,
    is_htmx,
    login_get,
    login_post,
    render_app_page,
    submit,
)


def _resources_context(app, bound: ScaleForm | None = None) -> dict:
    """Return one form per process type; `bound` replaces its type's form to show errors."""
    types = selectors.process_types_current(app=app)
    rows, placed = [], False
    for row in app.formation.filter(type__in=types):
        form = ScaleForm(initial={"type": row.type, "quantity": row.quantity, "size": row.size})
        if bound is not None and bound.data.get("type") == row.type:
            form, placed = bound, True
        rows.append({"row": row, "command": types[row.type], "form": form})
    return {
        "formation": rows,
        # Errors of a form for a type that has no row (e.g. not in the Procfile).
        "other_errors": bound.errors if bound is not None and not placed else None,
        "process_types": types,
        "dynos": selectors.dynos_list(app=app),
        "sleep": selectors.app_sleep(app=app),
        "sizes": DYNO_SIZES.values(),
    }


def _addons_context(request, app, *, addon_form=None, addon_errors=()) -> dict:
    """Return the app's attachments, each with its add-on's other apps and its backups."""
    offered = services()
    rows = []
    for attachment in app.addon_attachments.select_related("addon"):
        addon = attachment.addon
        has_backups = offered[addon.service].backups if addon.service in offered else False
        rows.append({
            "attachment": attachment,
            "addon": addon,
            "owned": addon.app_id == app.id,
            "elsewhere": sorted(addon.attachments.exclude(app=app)
                                .values_list("app__name", flat=True)),
            "backups": list(addon.backups.all()) if has_backups else None,
        })
    return {
        "addon_rows": rows,
        # While a backup runs the card refreshes itself (htmx) until it is done.
        "backup_running": any(backup.status == AddonBackup.Status.RUNNING
                              for row in rows for backup in row["backups"] or ()),
        "addon_form": addon_form or AddonCreateForm(),
        "addon_errors": addon_errors,
        "addon_services": sorted(offered),
        "addon_plans": PLANS.values(),
        "other_apps": selectors.apps_for_user(user=request.user).exclude(pk=app.pk)
        .order_by("name").values_list("name", flat=True),
    }


def render_resources(request, app, *, status=200, bound: ScaleForm | None = None, **addons):
    """Render the whole tab; `bound` and `addons` carry the forms and errors to show."""
    context = {**_resources_context(app, bound), **_addons_context(request, app, **addons)}
    return render_app_page(
        request, app, "resources", "dashboard/app/resources.html", context, status=status
    )


@login_get
def resources(request, app):
    return render_resources(request, app_or_404(request, app))


@login_post
def scale(request, app):
    obj = app_or_404(request, app)
    form = ScaleForm(request.POST)
    done = submit(form, lambda data: formation_services.formation_scale(
        app=obj, updates=[{k: data[k] for k in ("type", "quantity", "size")}]))
    status = 200 if done is not None else 422
    if is_htmx(request):
        context = {**app_context(obj), **_resources_context(obj, None if done else form)}
        if done is not None:
            context["saved"] = form.cleaned_data["type"]
        return render(request, "dashboard/partials/resources.html", context, status=status)
    if done is None:
        return render_resources(request, obj, status=status, bound=form)
    messages.success(request, f"Scaled {form.cleaned_data['type']}.")
    return redirect("dashboard:resources", app=obj.name)
