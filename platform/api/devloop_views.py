"""Webhooks (/api/apps/{app}/webhooks), scheduled jobs (/cron), pipelines (/api/pipelines)."""

from rest_framework.response import Response
from rest_framework.views import APIView

from api import serializers
from api.models import WebhookDelivery
from api.selectors import app_get, release_current
from api.services import cron, pipelines, webhooks
from api.views import AppScopedRemovalView, AppScopedView, _body


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


class WebhookDetailView(AppScopedRemovalView):
    remove = staticmethod(webhooks.webhook_remove)


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


def pipeline_data(pipeline) -> dict:
    """The pipeline's stages in order, each app with its current release."""
    stages = {stage: [] for stage in pipelines.STAGES}
    for coupling in pipeline.couplings.select_related("app"):
        release = release_current(app=coupling.app)
        stages[coupling.stage].append({
            "name": coupling.app.name,
            "release": {"version": release.version, "description": release.description}
            if release else None,
        })
    return {"id": str(pipeline.id), "name": pipeline.name,
            "stages": [{"stage": s, "apps": apps} for s, apps in stages.items()]}


class PipelineListView(APIView):
    def get(self, request):
        rows = pipelines.pipelines_for_user(user=request.user)
        return Response([pipeline_data(p) for p in rows])

    def post(self, request):
        body = _body(request)
        app = app_get(user=request.user, name=str(body.get("app", "")))
        pipeline = pipelines.pipeline_create(user=request.user, name=body.get("name"), app=app,
                                             stage=body.get("stage"))
        return Response(pipeline_data(pipeline), status=201)


class PipelineDetailView(APIView):
    def get(self, request, name):
        return Response(pipeline_data(pipelines.pipeline_get(user=request.user, name=name)))


class PipelineAppsView(APIView):
    def post(self, request, name):
        body = _body(request)
        app = app_get(user=request.user, name=str(body.get("app", "")))
        coupling = pipelines.pipeline_add(user=request.user, name=name, app=app,
                                          stage=body.get("stage"))
        return Response(pipeline_data(coupling.pipeline), status=201)


class PromotionView(AppScopedView):
    def post(self, request, app):
        output: list[str] = []
        released = pipelines.pipeline_promote(user=request.user, app=self.app(),
                                              out=output.append)
        return Response({
            "releases": [{"app": r.app.name, "version": r.version, "status": r.status,
                          "description": r.description} for r in released],
            "output": output,
        }, status=201)
