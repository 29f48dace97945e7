from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('api', '0005_https_certificates'),
    ]

    operations = [
        migrations.AddField(
            model_name='app',
            name='https_redirect',
            field=models.BooleanField(default=True),
        ),
    ]
