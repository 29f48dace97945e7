from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from api import addons_views, certs_views, devloop_views, nodes_views, views
from api.oneoff_views import oneoff_create
from logs.views import log_stream
from registry.views import ContainerReleaseView, registry_token

# A PostgreSQL add-on's database and backups, under apps/<app>/pg/.
pg_urlpatterns = [
    path("credentials", addons_views.CredentialsView.as_view(), name="pg-credentials"),
    path("backups", addons_views.BackupListView.as_view(), name="pg-backups"),
    path("backups/schedule", addons_views.BackupScheduleView.as_view(),
         name="pg-backups-schedule"),
    path("backups/<str:label>", addons_views.BackupDetailView.as_view(), name="pg-backup"),
    path("backups/<str:label>/restore", addons_views.BackupRestoreView.as_view(),
         name="pg-backup-restore"),
    path("backups/<str:label>/download", addons_views.BackupDownloadView.as_view(),
         name="pg-backup-download"),
]

# An app's resources, under apps/<app>/.
app_urlpatterns = [
    path("config-vars", views.ConfigVarsView.as_view(), name="config-vars"),
    path("releases", views.ReleaseListView.as_view(), name="releases"),
    path("releases/<str:version>", views.ReleaseDetailView.as_view(), name="release"),
    path("container-releases", ContainerReleaseView.as_view(), name="container-releases"),
    path("formation", views.FormationView.as_view(), name="formation"),
    path("formation/<str:ptype>/autoscale", views.AutoscaleView.as_view(), name="autoscale"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("dynos", views.DynoListView.as_view(), name="dynos"),
    path("dynos/run", oneoff_create, name="dynos-run"),
    path("dynos/restart", views.DynoRestartView.as_view(), name="dynos-restart"),
    path("sleep", views.SleepView.as_view(), name="sleep"),
    path("builds", views.BuildListView.as_view(), name="builds"),
    path("builds/<str:build_id>", views.BuildDetailView.as_view(), name="build"),
    path("builds/<str:build_id>/output", views.BuildOutputView.as_view(), name="build-output"),
    path("build-output", views.BuildOutputView.as_view(), name="latest-build-output"),
    path("log-stream", log_stream, name="log-stream"),
    path("domains", views.DomainListView.as_view(), name="domains"),
    path("domains/<str:hostname>", views.DomainDetailView.as_view(), name="domain"),
    path("certs", certs_views.CertificateView.as_view(), name="certs"),
    path("certs/auto", certs_views.AcmView.as_view(), name="certs-auto"),
    path("certs/redirect", certs_views.RedirectView.as_view(), name="certs-redirect"),
    path("drains", views.DrainListView.as_view(), name="drains"),
    # <path:> because a drain URL arrives percent-encoded and Django decodes its slashes.
    path("drains/<path:url>", views.DrainDetailView.as_view(), name="drain"),
    path("addons", addons_views.AddonListView.as_view(), name="addons"),
    path("addons/<str:name>", addons_views.AddonDetailView.as_view(), name="addon"),
    path("addon-attachments", addons_views.AttachmentListView.as_view(),
         name="addon-attachments"),
    path("addon-attachments/<str:name>", addons_views.AttachmentDetailView.as_view(),
         name="addon-attachment"),
    path("pg", addons_views.PgInfoView.as_view(), name="pg-info"),
    path("pg/", include(pg_urlpatterns)),
    path("redis/credentials", addons_views.CredentialsView.as_view(service="redis"),
         name="redis-credentials"),
    path("webhooks", devloop_views.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<str:webhook_id>", devloop_views.WebhookDetailView.as_view(),
         name="webhook"),
    path("webhook-deliveries", devloop_views.WebhookDeliveryListView.as_view(),
         name="webhook-deliveries"),
    path("cron", devloop_views.CronJobListView.as_view(), name="cron"),
    path("cron/<str:key>/run", devloop_views.CronJobRunView.as_view(), name="cron-run"),
    path("pipeline-promotions", devloop_views.PromotionView.as_view(),
         name="pipeline-promotions"),
    path("collaborators", views.CollaboratorListView.as_view(), name="collaborators"),
    path("collaborators/<str:email>", views.CollaboratorDetailView.as_view(),
         name="collaborator"),
]

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("login", views.LoginView.as_view(), name="login"),
    path("account", views.AccountView.as_view(), name="account"),
    path("account/tokens", views.TokenListView.as_view(), name="tokens"),
    path("account/tokens/<int:token_id>", views.TokenDetailView.as_view(), name="token"),
    path("registry/token", registry_token, name="registry-token"),
    path("apps", views.AppListView.as_view(), name="apps"),
    path("apps/<str:app>", views.AppDetailView.as_view(), name="app"),
    path("apps/<str:app>/", include(app_urlpatterns)),
    path("addons/<str:name>", addons_views.AddonInfoView.as_view(), name="addon-info"),
    path("pipelines", devloop_views.PipelineListView.as_view(), name="pipelines"),
    path("pipelines/<str:name>", devloop_views.PipelineDetailView.as_view(), name="pipeline"),
    path("pipelines/<str:name>/apps", devloop_views.PipelineAppsView.as_view(),
         name="pipeline-apps"),
    path("nodes", nodes_views.NodeListView.as_view(), name="nodes"),
    path("nodes/join-command", nodes_views.NodeJoinCommandView.as_view(),
         name="nodes-join-command"),
    path("nodes/<str:name>/drain", nodes_views.NodeDrainView.as_view(), name="node-drain"),
    path("nodes/<str:name>/activate", nodes_views.NodeActivateView.as_view(),
         name="node-activate"),
]
