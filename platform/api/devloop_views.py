"""/api/apps/{app}/webhooks and /cron: app webhooks and scheduled jobs."""

from rest_framework import status
from rest_framework.response import Response

from api import serializers
from api.models import WebhookDelivery
from api.services import cron, webhooks
from api.views import AppScopedView, _body


class WebhookListView(AppScopedView):
    def get(self, request, app):
        rows = self.app().webhooks.all()
        return Response(serializers.WebhookSerializer(rows, many=True).data)

    def post(self, request, app):
        body = _body(request)
        hook = webhooks.webhook_add(app=self.app(), url=body.get("url"),
                                    include=body.get("include"), secret=body.get("secret"))
        data = {**serializers.WebhookSerializer(hook).data, "secret": hook.secret}
        return Response(data, status=201)


class WebhookDetailView(AppScopedView):
    def delete(self, request, app, webhook_id):
        webhooks.webhook_remove(app=self.app(), webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(AppScopedView):
    def get(self, request, app):
        rows = WebhookDelivery.objects.filter(webhook__app=self.app())[:100]
        return Response(serializers.WebhookDeliverySerializer(rows, many=True).data)


class CronJobListView(AppScopedView):
    def get(self, request, app):
        rows = self.app().cron_jobs.all()
        return Response(serializers.CronJobSerializer(rows, many=True).data)


class CronJobRunView(AppScopedView):
    def post(self, request, app, key):
        job = cron.cron_run_now(app=self.app(), key=key)
        return Response(serializers.CronJobSerializer(job).data, status=202)
