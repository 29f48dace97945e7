from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0009_cpacme_control_plane_certificate")]

    operations = [
        migrations.AddField(
            model_name="build",
            name="image_ref",
            field=models.CharField(blank=True, max_length=300),
        ),
    ]
