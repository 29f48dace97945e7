from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0012_metrics_autoscale"),
    ]

    operations = [
        migrations.AddField(
            model_name="app",
            name="sleep_after",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
