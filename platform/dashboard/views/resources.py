"""Formation: how many processes of each type run, and at which size."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from api import selectors
from api.services import formation as formation_services
from api.validation import DYNO_SIZES
from dashboard.forms import ScaleForm
from dashboard.views.common import (
    app_context,
    app_or_404,
    call,
    is_htmx,
    login_required,
    render_app_page,
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
        "sizes": DYNO_SIZES.values(),
    }


@require_GET
@login_required
def resources(request, app):
    obj = app_or_404(request, app)
    return render_app_page(
        request, obj, "resources", "dashboard/app/resources.html", _resources_context(obj)
    )


@require_POST
@login_required
def scale(request, app):
    obj = app_or_404(request, app)
    form = ScaleForm(request.POST)
    done = None
    if form.is_valid():
        update = {k: form.cleaned_data[k] for k in ("type", "quantity", "size")}
        done = call(form, formation_services.formation_scale, app=obj, updates=[update])
    status = 200 if done is not None else 422
    if is_htmx(request):
        context = {**app_context(obj), **_resources_context(obj, None if done else form)}
        if done is not None:
            context["saved"] = form.cleaned_data["type"]
        return render(request, "dashboard/partials/resources.html", context, status=status)
    if done is None:
        return render_app_page(
            request,
            obj,
            "resources",
            "dashboard/app/resources.html",
            _resources_context(obj, form),
            status=status,
        )
    messages.success(request, f"Scaled {form.cleaned_data['type']}.")
    return redirect("dashboard:resources", app=obj.name)
