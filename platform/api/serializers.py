"""Output shapes of the API; input is validated by the services."""

from rest_framework import serializers

from api.models import (
    Addon,
    AddonAttachment,
    AddonBackup,
    ApiToken,
    App,
    Build,
    CronJob,
    Domain,
    Drain,
    Formation,
    Release,
    Webhook,
    WebhookDelivery,
)
from api.selectors import app_git_url, app_sleep, app_web_url, release_current


class UserRefSerializer(serializers.Serializer):
    email = serializers.EmailField()


class AppSerializer(serializers.ModelSerializer):
    owner = UserRefSerializer()
    web_url = serializers.SerializerMethodField()
    git_url = serializers.SerializerMethodField()
    current_release = serializers.SerializerMethodField()
    sleep = serializers.SerializerMethodField()

    class Meta:
        model = App
        fields = [
            "id",
            "name",
            "owner",
            "web_url",
            "git_url",
            "deploy_branch",
            "maintenance",
            "current_release",
            "sleep",
            "created_at",
            "updated_at",
        ]

    def get_web_url(self, app) -> str:
        return app_web_url(app=app)

    def get_git_url(self, app) -> str:
        return app_git_url(app=app)

    def get_sleep(self, app) -> dict:
        return app_sleep(app=app)

    def get_current_release(self, app) -> dict | None:
        release = release_current(app=app)
        return {"version": release.version} if release else None


class BuildRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Build
        fields = ["id", "source_sha", "image_ref"]


class ReleaseSerializer(serializers.ModelSerializer):
    build = BuildRefSerializer(allow_null=True)
    creator = UserRefSerializer(allow_null=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["version", "description", "status", "build", "creator", "created_at", "current"]

    def get_current(self, release) -> bool:
        return release.pk == self.context.get("current_release_id")


class ReleaseDetailSerializer(ReleaseSerializer):
    config_vars = serializers.DictField(source="config.values", child=serializers.CharField())

    class Meta(ReleaseSerializer.Meta):
        fields = ReleaseSerializer.Meta.fields + ["config_vars"]


class FormationSerializer(serializers.ModelSerializer):
    command = serializers.SerializerMethodField()
    autoscale = serializers.SerializerMethodField()

    class Meta:
        model = Formation
        fields = ["type", "quantity", "size", "command", "autoscale", "updated_at"]

    def get_command(self, row) -> str:
        return self.context.get("process_types", {}).get(row.type, "")

    def get_autoscale(self, row) -> dict | None:
        if not row.autoscaling:
            return None
        return {"min": row.autoscale_min, "max": row.autoscale_max, "p95_ms": row.autoscale_p95_ms}


class BuildSerializer(serializers.ModelSerializer):
    class Meta:
        model = Build
        fields = [
            "id",
            "status",
            "source_sha",
            "buildpack",
            "process_types",
            "image",
            "image_ref",
            "created_at",
            "started_at",
            "finished_at",
        ]


class DomainSerializer(serializers.ModelSerializer):
    cname = serializers.SerializerMethodField()

    class Meta:
        model = Domain
        fields = ["hostname", "cname", "created_at"]

    def get_cname(self, domain) -> str:
        return app_web_url(app=domain.app).split("//", 1)[1].split(":", 1)[0]


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class DynoSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    state = serializers.CharField()
    size = serializers.CharField()
    command = serializers.CharField()
    release = serializers.DictField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    restarts = serializers.IntegerField()
    node = serializers.CharField(allow_blank=True)  # the machine running it ("" on one host)


class DrainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drain
        fields = ["id", "url", "created_at"]


class AddonSerializer(serializers.ModelSerializer):
    app = serializers.CharField(source="app.name", default=None)
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = Addon
        fields = ["id", "name", "service", "plan", "provider", "state", "app", "attachments",
                  "backup_at", "last_error", "created_at"]

    def get_attachments(self, addon):
        return [{"app": row.app.name, "config_var": row.config_var}
                for row in addon.attachments.select_related("app")]


class AttachmentSerializer(serializers.ModelSerializer):
    addon = AddonSerializer()
    config_var = serializers.CharField(read_only=True)

    class Meta:
        model = AddonAttachment
        fields = ["name", "config_var", "addon", "created_at"]


class BackupSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="label")
    addon = serializers.CharField(source="addon.name")

    class Meta:
        model = AddonBackup
        fields = ["id", "addon", "status", "size", "error", "scheduled", "created_at",
                  "finished_at"]


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Webhook
        fields = ["id", "url", "include", "created_at"]  # the secret is shown once, on add


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.UUIDField(source="webhook_id")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook", "event", "action", "status", "attempts", "next_attempt_at",
                  "last_status_code", "last_error", "created_at"]


class CronJobSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="key")
    running = serializers.SerializerMethodField()

    class Meta:
        model = CronJob
        fields = ["id", "schedule", "command", "next_run_at", "last_run_at", "last_status",
                  "running"]

    def get_running(self, job) -> bool:
        return job.running_since is not None
