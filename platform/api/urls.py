from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from api import addons_views, certs_views, devloop_views, views
from api.oneoff_views import oneoff_create
from logs.views import log_stream

APP = "apps/<str:app>"

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("login", views.LoginView.as_view(), name="login"),
    path("account", views.AccountView.as_view(), name="account"),
    path("account/tokens", views.TokenListView.as_view(), name="tokens"),
    path("account/tokens/<int:token_id>", views.TokenDetailView.as_view(), name="token"),
    path("apps", views.AppListView.as_view(), name="apps"),
    path(APP, views.AppDetailView.as_view(), name="app"),
    path(f"{APP}/config-vars", views.ConfigVarsView.as_view(), name="config-vars"),
    path(f"{APP}/releases", views.ReleaseListView.as_view(), name="releases"),
    path(f"{APP}/releases/<str:version>", views.ReleaseDetailView.as_view(), name="release"),
    path(f"{APP}/formation", views.FormationView.as_view(), name="formation"),
    path(f"{APP}/dynos", views.DynoListView.as_view(), name="dynos"),
    path(f"{APP}/dynos/run", oneoff_create, name="dynos-run"),
    path(f"{APP}/dynos/restart", views.DynoRestartView.as_view(), name="dynos-restart"),
    path(f"{APP}/builds", views.BuildListView.as_view(), name="builds"),
    path(f"{APP}/builds/<str:build_id>", views.BuildDetailView.as_view(), name="build"),
    path(
        f"{APP}/builds/<str:build_id>/output", views.BuildOutputView.as_view(), name="build-output"
    ),
    path(f"{APP}/build-output", views.BuildOutputView.as_view(), name="latest-build-output"),
    path(f"{APP}/log-stream", log_stream, name="log-stream"),
    path(f"{APP}/domains", views.DomainListView.as_view(), name="domains"),
    path(f"{APP}/domains/<str:hostname>", views.DomainDetailView.as_view(), name="domain"),
    path(f"{APP}/certs", certs_views.CertificateView.as_view(), name="certs"),
    path(f"{APP}/certs/auto", certs_views.AcmView.as_view(), name="certs-auto"),
    path(f"{APP}/certs/redirect", certs_views.RedirectView.as_view(), name="certs-redirect"),
    path(f"{APP}/drains", views.DrainListView.as_view(), name="drains"),
    # <path:> because a drain URL arrives percent-encoded and Django decodes its slashes.
    path(f"{APP}/drains/<path:url>", views.DrainDetailView.as_view(), name="drain"),
    path("addons/<str:name>", addons_views.AddonInfoView.as_view(), name="addon-info"),
    path(f"{APP}/addons", addons_views.AddonListView.as_view(), name="addons"),
    path(f"{APP}/addons/<str:name>", addons_views.AddonDetailView.as_view(), name="addon"),
    path(f"{APP}/addon-attachments", addons_views.AttachmentListView.as_view(),
         name="addon-attachments"),
    path(f"{APP}/addon-attachments/<str:name>", addons_views.AttachmentDetailView.as_view(),
         name="addon-attachment"),
    path(f"{APP}/pg", addons_views.PgInfoView.as_view(), name="pg-info"),
    path(f"{APP}/pg/credentials", addons_views.PgCredentialsView.as_view(),
         name="pg-credentials"),
    path(f"{APP}/pg/backups", addons_views.BackupListView.as_view(), name="pg-backups"),
    path(f"{APP}/pg/backups/schedule", addons_views.BackupScheduleView.as_view(),
         name="pg-backups-schedule"),
    path(f"{APP}/pg/backups/<str:label>", addons_views.BackupDetailView.as_view(),
         name="pg-backup"),
    path(f"{APP}/pg/backups/<str:label>/restore", addons_views.BackupRestoreView.as_view(),
         name="pg-backup-restore"),
    path(f"{APP}/pg/backups/<str:label>/download", addons_views.BackupDownloadView.as_view(),
         name="pg-backup-download"),
    path(f"{APP}/webhooks", devloop_views.WebhookListView.as_view(), name="webhooks"),
    path(f"{APP}/webhooks/<str:webhook_id>", devloop_views.WebhookDetailView.as_view(),
         name="webhook"),
    path(f"{APP}/webhook-deliveries", devloop_views.WebhookDeliveryListView.as_view(),
         name="webhook-deliveries"),
    path(f"{APP}/cron", devloop_views.CronJobListView.as_view(), name="cron"),
    path(f"{APP}/cron/<str:key>/run", devloop_views.CronJobRunView.as_view(), name="cron-run"),
    path(f"{APP}/pipeline-promotions", devloop_views.PromotionView.as_view(),
         name="pipeline-promotions"),
    path("pipelines", devloop_views.PipelineListView.as_view(), name="pipelines"),
    path("pipelines/<str:name>", devloop_views.PipelineDetailView.as_view(), name="pipeline"),
    path("pipelines/<str:name>/apps", devloop_views.PipelineAppsView.as_view(),
         name="pipeline-apps"),
    path(f"{APP}/collaborators", views.CollaboratorListView.as_view(), name="collaborators"),
    path(
        f"{APP}/collaborators/<str:email>",
        views.CollaboratorDetailView.as_view(),
        name="collaborator",
    ),
]
