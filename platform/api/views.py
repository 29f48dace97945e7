"""Thin API views: parse the request, call a service or selector, serialize the result."""

from django.db import connection
from django.http import HttpResponse
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from api import metrics, selectors, serializers
from api.errors import Invalid
from api.services import (
    apps,
    autoscale,
    certs,
    collaborators,
    config,
    domains,
    drains,
    formation,
    releases,
    sleep,
    tokens,
)
from api.throttle import client_address
from builds.logstream import read_file
from builds.paths import build_output_path


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise Invalid("request body must be a JSON object")
    return request.data


class AppScopedView(APIView):
    """A view under /apps/{app}/: resolves the app the user may access, or 404."""

    def app(self, for_update: bool = False):
        return selectors.app_get(
            user=self.request.user, name=self.kwargs["app"], for_update=for_update
        )


class AppScopedRemovalView(AppScopedView):
    """DELETE under /apps/{app}/: the ``remove`` service with the URL's key; 204."""

    remove: staticmethod

    def delete(self, request, app, **key):
        self.remove(app=self.app(), **key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppScopedCollectionView(AppScopedView):
    """GET lists the app's ``related`` rows; POST makes one with the ``add`` service from the
    body's ``field`` (201). Both answer with ``serializer``."""

    serializer: type
    related: str
    add: staticmethod
    field: str

    def get(self, request, app):
        # The related manager hands each row its app: no join, no query per row.
        rows = getattr(self.app(), self.related).all()
        return Response(self.serializer(rows, many=True).data)

    def post(self, request, app):
        made = self.add(app=self.app(), **{self.field: _body(request).get(self.field)})
        return Response(self.serializer(made).data, status=201)


class HealthView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body = {"status": "ok"}
        if api_certificate := certs.control_plane_status():
            # Public like the certificate itself; the CA's error says why there is none yet.
            body["api_certificate"] = api_certificate
        return Response(body)


class LoginView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def post(self, request):
        body = _body(request)
        token, plaintext = tokens.login_token_create(
            email=body.get("email", ""),
            password=body.get("password", ""),
            address=client_address(request.META),
            name=body.get("name") or "pier login",
        )
        return Response({"token": plaintext, "email": token.user.email}, status=201)


class AccountView(APIView):
    def get(self, request):
        return Response({"id": request.user.pk, "email": request.user.email})


class TokenListView(APIView):
    def get(self, request):
        rows = request.user.api_tokens.filter(revoked_at__isnull=True)
        return Response(serializers.TokenSerializer(rows, many=True).data)

    def post(self, request):
        token, plaintext = tokens.token_create(user=request.user, name=_body(request).get("name"))
        return Response({**serializers.TokenSerializer(token).data, "token": plaintext}, status=201)


class TokenDetailView(APIView):
    def delete(self, request, token_id):
        tokens.token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppListView(APIView):
    def get(self, request):
        rows = selectors.apps_for_user(user=request.user).select_related("owner")
        return Response(serializers.AppSerializer(rows, many=True).data)

    def post(self, request):
        app = apps.app_create(user=request.user, name=_body(request).get("name"))
        return Response(serializers.AppSerializer(app).data, status=201)


class AppDetailView(AppScopedView):
    def get(self, request, app):
        return Response(serializers.AppSerializer(self.app()).data)

    def patch(self, request, app):
        body = _body(request)
        updated = apps.app_update(
            user=request.user,
            name=app,
            new_name=body.get("name"),
            maintenance=body.get("maintenance"),
            deploy_branch=body.get("deploy_branch"),
        )
        return Response(serializers.AppSerializer(updated).data)

    def delete(self, request, app):
        apps.app_destroy(user=request.user, name=app)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConfigVarsView(AppScopedView):
    def get(self, request, app):
        return Response(selectors.config_current(app=self.app()).values)

    def patch(self, request, app):
        values = config.config_update(app=self.app(), changes=_body(request), user=request.user)
        return Response(values)


class ReleaseListView(AppScopedView):
    def get(self, request, app):
        obj = self.app()
        current = selectors.release_current(app=obj)
        rows = obj.releases.select_related("build", "creator")
        context = {"current_release_id": current.pk if current else None}
        return Response(serializers.ReleaseSerializer(rows, many=True, context=context).data)

    def post(self, request, app):
        release = releases.release_rollback(
            app=self.app(), user=request.user, version=_body(request).get("rollback")
        )
        context = {"current_release_id": release.pk}
        return Response(serializers.ReleaseSerializer(release, context=context).data, status=201)


class ReleaseDetailView(AppScopedView):
    def get(self, request, app, version):
        obj = self.app()
        release = releases.release_get(app=obj, version=version)
        current = selectors.release_current(app=obj)
        context = {"current_release_id": current.pk if current else None}
        return Response(serializers.ReleaseDetailSerializer(release, context=context).data)


def _formation_response(obj, rows=None) -> Response:
    types = selectors.process_types_current(app=obj)
    if rows is None:
        rows = obj.formation.filter(type__in=types)
    context = {"process_types": types}
    return Response(serializers.FormationSerializer(rows, many=True, context=context).data)


class FormationView(AppScopedView):
    def get(self, request, app):
        return _formation_response(self.app())

    def patch(self, request, app):
        obj = self.app()
        rows = formation.formation_scale(
            app=obj, updates=_body(request).get("updates"), user=request.user
        )
        return _formation_response(obj, rows)


class AutoscaleView(AppScopedView):
    """PUT {min, max, p95_ms} turns autoscaling of a process type on; DELETE turns it off."""

    def put(self, request, app, ptype):
        body = _body(request)
        obj = self.app()
        autoscale.autoscale_enable(app=obj, ptype=ptype, minimum=body.get("min"),
                                   maximum=body.get("max"), p95_ms=body.get("p95_ms"),
                                   user=request.user)
        return _formation_response(obj)

    def delete(self, request, app, ptype):
        obj = self.app()
        autoscale.autoscale_disable(app=obj, ptype=ptype, user=request.user)
        return _formation_response(obj)


class MetricsView(AppScopedView):
    """Requests, status classes, latency percentiles, CPU, memory and restarts over time."""

    def get(self, request, app):
        query = request.query_params
        return Response(metrics.metrics_read(app=self.app(), since=query.get("since") or "1h",
                                             step=query.get("step") or None))


class DynoListView(AppScopedView):
    def get(self, request, app):
        dynos = selectors.dynos_list(app=self.app())
        return Response(serializers.DynoSerializer(dynos, many=True).data)


class DynoRestartView(AppScopedView):
    def post(self, request, app):
        message = formation.formation_restart(app=self.app(), target=_body(request).get("target"))
        return Response({"message": message}, status=202)


class BuildListView(AppScopedView):
    def get(self, request, app):
        return Response(serializers.BuildSerializer(self.app().builds.all(), many=True).data)


class BuildDetailView(AppScopedView):
    def get(self, request, app, build_id):
        build = selectors.build_get(app=self.app(), build_id=build_id)
        return Response(serializers.BuildSerializer(build).data)


class BuildOutputView(AppScopedView):
    """Return a build's whole output as plain text (also of a build still running)."""

    def get(self, request, app, build_id=None):
        build = selectors.build_get(app=self.app(), build_id=build_id)
        text = read_file(build_output_path(build))
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class DomainListView(AppScopedCollectionView):
    serializer, related = serializers.DomainSerializer, "domains"
    add, field = staticmethod(domains.domain_add), "hostname"


class DomainDetailView(AppScopedRemovalView):
    remove = staticmethod(domains.domain_remove)


class DrainListView(AppScopedCollectionView):
    serializer, related = serializers.DrainSerializer, "drains"
    add, field = staticmethod(drains.drain_add), "url"


class DrainDetailView(AppScopedRemovalView):
    remove = staticmethod(drains.drain_remove)


class CollaboratorListView(AppScopedView):
    def get(self, request, app):
        obj = self.app()
        rows = [{"email": obj.owner.email, "role": "owner", "created_at": obj.created_at}]
        for row in obj.collaborator_set.select_related("user").order_by("created_at"):
            rows.append(
                {"email": row.user.email, "role": "collaborator", "created_at": row.created_at}
            )
        return Response(rows)

    def post(self, request, app):
        row = collaborators.collaborator_add(
            app=self.app(), user=request.user, email=_body(request).get("email")
        )
        return Response(
            {"email": row.user.email, "role": "collaborator", "created_at": row.created_at},
            status=201,
        )


class CollaboratorDetailView(AppScopedView):
    def delete(self, request, app, email):
        collaborators.collaborator_remove(app=self.app(), user=request.user, email=email)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SleepView(AppScopedView):
    """/apps/{app}/sleep: POST {"after": "30m"} turns sleep on, DELETE turns it off."""

    def get(self, request, app):
        return Response(selectors.app_sleep(app=self.app()))

    def post(self, request, app):
        found = sleep.sleep_enable(app=self.app(), after=_body(request).get("after", ""))
        return Response(selectors.app_sleep(app=found))

    def delete(self, request, app):
        return Response(selectors.app_sleep(app=sleep.sleep_disable(app=self.app())))
