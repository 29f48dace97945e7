import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0011_addon_restoring")]

    operations = [
        migrations.AddField(
            model_name="formation", name="autoscale_min",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="formation", name="autoscale_max",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="formation", name="autoscale_p95_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="formation", name="autoscale_acted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="AutoscaleEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("type", models.CharField(max_length=30)),
                ("quantity_from", models.PositiveIntegerField()),
                ("quantity_to", models.PositiveIntegerField()),
                ("reason", models.CharField(max_length=300)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("app", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                          related_name="autoscale_events", to="api.app")),
            ],
            options={"ordering": ["-created_at", "-pk"]},
        ),
    ]
