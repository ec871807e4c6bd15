"""An approval request is ``approval`` in code, never ``request`` (the HTTP request's name)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("approvals", "0002_outcome_label")]

    operations = [
        migrations.RenameField(model_name="approvaldecision", old_name="request", new_name="approval"),
        migrations.RenameField(model_name="executivebrief", old_name="request", new_name="approval"),
        migrations.RenameField(model_name="historicalexecutivebrief", old_name="request", new_name="approval"),
    ]
