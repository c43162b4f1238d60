from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_catalogue_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="equipmentmodel",
            name="names",
            field=models.JSONField(blank=True, default=dict, verbose_name="name per language"),
        ),
    ]
