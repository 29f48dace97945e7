"""What should run: apps, builds, config, releases, formation, domains, tokens."""

import uuid

from django.conf import settings
from django.db import models

APP_NAME_REGEX = r"^[a-z][a-z0-9-]{1,29}$"


class ApiToken(models.Model):
    """An API token; only its SHA-256 is stored, the token itself is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class App(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=30, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="apps"
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Collaborator", related_name="shared_apps"
    )
    deploy_branch = models.CharField(max_length=100, default="main")
    maintenance = models.BooleanField(default=False)
    # Plain HTTP to a host its certificate serves is redirected to HTTPS (301).
    https_redirect = models.BooleanField(default=True)
    # Seconds without a request before its web processes stop until the next one; null: never.
    sleep_after = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Collaborator(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "user"], name="unique_collaborator")]


class Build(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="builds")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    source_sha = models.CharField(max_length=64, blank=True)
    buildpack = models.CharField(max_length=200, blank=True)
    image = models.CharField(max_length=200, blank=True)
    # Where Pier's registry serves the image (`host:port/app@sha256:...`); blank without one.
    image_ref = models.CharField(max_length=300, blank=True)
    process_types = models.JSONField(default=dict, blank=True)
    # app.json's "formation" ({"web": {"quantity": 2, "size": "large"}}): the first deploy's scale.
    formation_defaults = models.JSONField(default=dict, blank=True)
    # app.json's web startup check: {"path", "content", "boot_timeout"}, each optional.
    healthcheck = models.JSONField(default=dict, blank=True)
    # app.json's "cron": [{"command", "schedule"}], validated when the build ran.
    cron = models.JSONField(default=list, blank=True)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]


class Config(models.Model):
    """An immutable snapshot of an app's config vars: a row per change, never updated."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="configs")
    values = models.JSONField(default=dict)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Release(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="releases")
    version = models.PositiveIntegerField()
    build = models.ForeignKey(Build, null=True, blank=True, on_delete=models.PROTECT)
    config = models.ForeignKey(Config, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    description = models.CharField(max_length=500)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["app", "version"], name="unique_release_version")
        ]

    @property
    def label(self) -> str:
        return f"v{self.version}"


class Formation(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="formation")
    type = models.CharField(max_length=30)
    quantity = models.PositiveIntegerField(default=0)
    size = models.CharField(max_length=20, default="standard")
    # Bumped by `ps:restart`; the runtime replaces processes started before it.
    restarted_at = models.DateTimeField(null=True, blank=True)
    process_restarts = models.JSONField(default=dict, blank=True)
    # Autoscaling (`ps:autoscale:enable`): on while autoscale_p95_ms is set.
    autoscale_min = models.PositiveIntegerField(null=True, blank=True)
    autoscale_max = models.PositiveIntegerField(null=True, blank=True)
    autoscale_p95_ms = models.PositiveIntegerField(null=True, blank=True)
    # When the autoscaler last changed (or tried to change) the quantity, or was enabled:
    # its windows only count time after it, so one change is judged before the next.
    autoscale_acted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["type"]
        constraints = [
            models.UniqueConstraint(fields=["app", "type"], name="unique_formation_type")
        ]

    @property
    def autoscaling(self) -> bool:
        return self.autoscale_p95_ms is not None


class AutoscaleEvent(models.Model):
    """A change the autoscaler made to a formation, for the app's Activity."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="autoscale_events")
    type = models.CharField(max_length=30)
    quantity_from = models.PositiveIntegerField()
    quantity_to = models.PositiveIntegerField()
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]


class Domain(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="domains")
    hostname = models.CharField(max_length=253, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["hostname"]


class Drain(models.Model):
    """A log drain: where the app's log lines are also delivered (syslog or HTTPS)."""

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="drains")
    url = models.CharField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["app", "url"], name="unique_drain")]


class Certificate(models.Model):
    """The HTTPS certificate of an app's hosts: issued by ACME, or the user's own.

    The row without an app is the control plane's (PIER_API_HOST), ordered by ACME when the
    operator gives no files: a row like the apps' so one code path orders, backs off, renews
    and reports every certificate the platform obtains.
    """

    class Source(models.TextChoices):
        ACME = "acme"
        MANUAL = "manual"

    class State(models.TextChoices):
        PENDING = "pending"
        ISSUED = "issued"
        FAILING = "failing"

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="certificate",
                               null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    chain_pem = models.TextField(blank=True)  # leaf first, then intermediates
    key_pem = models.TextField(blank=True)
    domains = models.JSONField(default=list)  # host names the certificate covers
    issuer = models.CharField(max_length=500, blank=True)
    not_after = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failures = models.PositiveIntegerField(default=0)  # ACME attempts failed in a row
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["source"], condition=models.Q(app__isnull=True),
            name="one_control_plane_certificate")]

    @property
    def bundle(self) -> str:
        """What the router serves: the chain, then the key ("" until there is one)."""
        return self.chain_pem + self.key_pem if self.chain_pem and self.key_pem else ""


class Addon(models.Model):
    """A backing service instance (a PostgreSQL database, a Redis) attached to apps by URL."""

    class State(models.TextChoices):
        PROVISIONING = "provisioning"  # the worker is making it (addons:create answered)
        AVAILABLE = "available"
        RESTORING = "restoring"  # the worker restores a backup into it; apps still use it
        FAILED = "failed"  # provisioning failed (see last_error); nothing of it runs
        DESTROYED = "destroyed"  # its data is gone; its final backup is kept

    # States in which it runs and its attached apps reach it.
    LIVE_STATES = (State.AVAILABLE, State.RESTORING)

    class Provider(models.TextChoices):
        CONTAINER = "container"  # its own container, volume and network
        SERVER = "server"  # a database and role on PIER_ADDONS_POSTGRESQL_SERVER

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=60, unique=True)  # postgresql-curved-12345
    service = models.CharField(max_length=30)
    plan = models.CharField(max_length=30)
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # The app it was created for: only that app's users may destroy it.
    app = models.ForeignKey(App, null=True, on_delete=models.SET_NULL, related_name="addons")
    state = models.CharField(max_length=14, choices=State.choices, default=State.PROVISIONING)
    credentials = models.JSONField(default=dict)  # user, password, database, host, port
    last_error = models.TextField(blank=True)
    backup_at = models.CharField(max_length=5, blank=True)  # daily backups at HH:MM (UTC)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.name


class AddonAttachment(models.Model):
    """An add-on handed to an app as the config var ``<name>_URL``."""

    addon = models.ForeignKey(Addon, on_delete=models.CASCADE, related_name="attachments")
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="addon_attachments")
    name = models.CharField(max_length=60)  # DATABASE, REPORTING_DATABASE...
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="unique_attachment_name")
        ]

    @property
    def config_var(self) -> str:
        return f"{self.name}_URL"


class AddonBackup(models.Model):
    """A pg_dump (custom format) of an add-on's database, in the data dir."""

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    addon = models.ForeignKey(Addon, on_delete=models.CASCADE, related_name="backups")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    size = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    scheduled = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["addon", "number"], name="unique_backup_number")
        ]

    @property
    def label(self) -> str:
        return f"b{self.number:03d}"


class Webhook(models.Model):
    """Where an app's events are POSTed (Heroku's app webhooks), signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=1000)
    include = models.JSONField(default=list)  # entities: api:build, api:release, dyno, ...
    secret = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["app", "url"], name="unique_webhook")]


class WebhookDelivery(models.Model):
    """One event sent to one webhook; retried with backoff until it lands or expires."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=30)
    action = models.CharField(max_length=30)
    body = models.TextField()  # the exact bytes signed and sent, every attempt
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt may start; also a lease: an attempt moves it past its timeout.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class CronJob(models.Model):
    """A scheduled job of app.json's "cron", with what the scheduler knows of its runs.

    The current release's jobs replace the rows; a job whose command and schedule stay
    keeps its key, so its last run survives a deploy.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="cron_jobs")
    key = models.CharField(max_length=12)  # stable: a hash of schedule and command
    command = models.CharField(max_length=2000)
    schedule = models.CharField(max_length=100)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.IntegerField(null=True, blank=True)
    # Set while a run is queued or running: the next due time is skipped meanwhile.
    running_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["app", "key"], name="unique_cron_key")]


class Pipeline(models.Model):
    """Apps of one codebase in stages; promotion moves a build to the next stage's apps."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=30, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pipelines"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]


class PipelineCoupling(models.Model):
    """An app's place in a pipeline: one pipeline and stage per app."""

    STAGES = ("development", "staging", "production")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="couplings")
    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="coupling")
    stage = models.CharField(max_length=20, choices=[(s, s) for s in STAGES])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
