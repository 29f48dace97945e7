"""Thin API views of add-ons, their attachments and backups."""

from django.http import FileResponse
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers
from api.services import addon_backups, addons
from api.views import AppScopedView, _body


class AddonListView(AppScopedView):
    def get(self, request, app):
        rows = self.app().addon_attachments.select_related("addon", "app")
        return Response(serializers.AttachmentSerializer(rows, many=True).data)

    def post(self, request, app):
        body = _body(request)
        addon = addons.addon_create(app=self.app(), user=request.user, service=body.get("service"),
                                    plan=body.get("plan"), alias=body.get("as"))
        return Response(serializers.AddonSerializer(addon).data, status=202)


class AddonDetailView(AppScopedView):
    def delete(self, request, app, name):
        addons.addon_destroy(app=self.app(), user=request.user, name=name,
                             confirm=request.query_params.get("confirm"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AddonInfoView(APIView):
    """GET /api/addons/<name>: an add-on the user can see, with its attachments."""

    def get(self, request, name):
        addon = addons.addon_get(user=request.user, name=name)
        return Response(serializers.AddonSerializer(addon).data)


class AttachmentListView(AppScopedView):
    def post(self, request, app):
        body = _body(request)
        row = addons.addon_attach(app=self.app(), user=request.user, name=body.get("addon") or "",
                                  alias=body.get("as"))
        return Response(serializers.AttachmentSerializer(row).data, status=201)


class AttachmentDetailView(AppScopedView):
    def delete(self, request, app, name):
        addons.addon_detach(app=self.app(), user=request.user, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AppAddonView(AppScopedView):
    """Base of /apps/<app>/<service>/...: the app's add-on of that service (or ?addon=)."""

    def addon(self, service: str):
        return addons.addon_for_app(app=self.app(), service=service,
                                    name=self.request.query_params.get("addon"))


class PgInfoView(AppAddonView):
    def get(self, request, app):
        addon = self.addon("postgresql")
        version, size, connections, tables = addons.addon_info(addon=addon)
        return Response({**serializers.AddonSerializer(addon).data, "version": version,
                         "size": int(size), "connections": int(connections),
                         "tables": int(tables)})


class CredentialsView(AppAddonView):
    """POST /apps/<app>/pg/credentials, /apps/<app>/redis/credentials: a new password."""

    service = "postgresql"

    def post(self, request, app):
        addon = addons.addon_credentials_rotate(addon=self.addon(self.service), user=request.user)
        return Response(serializers.AddonSerializer(addon).data)


class BackupListView(AppAddonView):
    def get(self, request, app):
        addon = self.addon("postgresql")
        return Response({"schedule": addon.backup_at, "backups": serializers.BackupSerializer(
            addon.backups.all(), many=True).data})

    def post(self, request, app):
        backup = addon_backups.backup_capture(addon=self.addon("postgresql"))
        return Response(serializers.BackupSerializer(backup).data, status=201)


class BackupDetailView(AppAddonView):
    def get(self, request, app, label):
        backup = addon_backups.backup_get(addon=self.addon("postgresql"), label=label)
        return Response(serializers.BackupSerializer(backup).data)


class BackupRestoreView(AppAddonView):
    def post(self, request, app, label):
        backup = addon_backups.backup_restore(app=self.app(), addon=self.addon("postgresql"),
                                              label=label, confirm=_body(request).get("confirm"))
        return Response(serializers.BackupSerializer(backup).data, status=202)


class BackupDownloadView(AppAddonView):
    def get(self, request, app, label):
        backup, path = addon_backups.backup_file(addon=self.addon("postgresql"), label=label)
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{backup.label}.dump")


class BackupScheduleView(AppAddonView):
    def put(self, request, app):
        addon = addon_backups.backup_schedule(addon=self.addon("postgresql"),
                                              at=_body(request).get("at"))
        return Response({"schedule": addon.backup_at})
