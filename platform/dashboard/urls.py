"""Dashboard pages at the control plane's root; app pages live under /apps/<app>."""

from django.urls import path

from dashboard.views import (
    account,
    activity,
    addons,
    apps,
    auth,
    deploy,
    logs,
    metrics,
    nodes,
    resources,
    settings,
)

app_name = "dashboard"

APP = "apps/<slug:app>"
ADDON = f"{APP}/resources/addons/<str:name>"

urlpatterns = [
    path("", apps.app_list, name="apps"),
    path("login", auth.LoginView.as_view(), name="login"),
    path("logout", auth.LogoutView.as_view(), name="logout"),
    path("account", account.account, name="account"),
    path("account/tokens", account.token_create, name="token-create"),
    path("account/tokens/<int:token_id>/revoke", account.token_revoke, name="token-revoke"),
    path("nodes", nodes.node_list, name="nodes"),
    path("nodes/<str:node_id>/drain", nodes.node_drain, name="node-drain"),
    path("nodes/<str:node_id>/activate", nodes.node_activate, name="node-activate"),
    path("apps", apps.app_create, name="app-create"),
    path(APP, apps.app_overview, name="app"),
    path(f"{APP}/resources", resources.resources, name="resources"),
    path(f"{APP}/resources/scale", resources.scale, name="scale"),
    path(f"{APP}/resources/addons", addons.addon_create, name="addon-create"),
    path(f"{ADDON}/attach", addons.addon_attach, name="addon-attach"),
    path(f"{ADDON}/detach", addons.addon_detach, name="addon-detach"),
    path(f"{ADDON}/destroy", addons.addon_destroy, name="addon-destroy"),
    path(f"{ADDON}/backups", addons.backup_capture, name="backup-capture"),
    path(f"{ADDON}/backups/<str:label>/restore", addons.backup_restore, name="backup-restore"),
    path(f"{ADDON}/backups/<str:label>/download", addons.backup_download,
         name="backup-download"),
    path(f"{APP}/deploy", deploy.deploy, name="deploy"),
    path(f"{APP}/builds/<str:build_id>", deploy.build_detail, name="build"),
    path(f"{APP}/builds/<str:build_id>/log", deploy.build_log, name="build-log"),
    path(f"{APP}/activity", activity.activity, name="activity"),
    path(f"{APP}/activity/rollback/<int:version>", activity.rollback, name="rollback"),
    path(f"{APP}/logs", logs.logs, name="logs"),
    path(f"{APP}/metrics", metrics.metrics, name="metrics"),
    path(f"{APP}/metrics.json", metrics.metrics_data, name="metrics-data"),
    path(f"{APP}/settings", settings.settings_page, name="settings"),
    path(f"{APP}/settings/config", settings.config_set, name="config-set"),
    path(f"{APP}/settings/config/delete", settings.config_delete, name="config-delete"),
    path(f"{APP}/settings/domains", settings.domain_add, name="domain-add"),
    path(f"{APP}/settings/domains/remove", settings.domain_remove, name="domain-remove"),
    path(f"{APP}/settings/collaborators", settings.collaborator_add, name="collaborator-add"),
    path(
        f"{APP}/settings/collaborators/remove",
        settings.collaborator_remove,
        name="collaborator-remove",
    ),
    path(f"{APP}/settings/maintenance", settings.maintenance, name="maintenance"),
    path(f"{APP}/settings/certs/auto", settings.certs_acm, name="certs-acm"),
    path(f"{APP}/settings/certs/redirect", settings.certs_redirect, name="certs-redirect"),
    path(f"{APP}/settings/delete", settings.app_delete, name="app-delete"),
]
