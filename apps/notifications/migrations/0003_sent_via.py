"""sent_channel / sent_address become sent_via_channel / sent_via_address: the names the
escalation timeline reads ("sent via SMS to +44…")."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_outbox_per_recipient"),
    ]

    operations = [
        migrations.RenameField(model_name="notification", old_name="sent_channel", new_name="sent_via_channel"),
        migrations.RenameField(model_name="notification", old_name="sent_address", new_name="sent_via_address"),
    ]
