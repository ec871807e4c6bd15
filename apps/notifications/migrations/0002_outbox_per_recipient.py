"""One outbox row per (event, recipient) carrying the recipient's contact methods in order,
and a DeliveryAttempt per try.

Existing rows keep their single (channel, address) as a one-method list; a sent row records it
as the method that delivered. The old key (event, recipient, channel) allowed one row per
channel, but email was the only channel, so the new (event, recipient) key holds for them.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models

CHANNELS = [("email", "email"), ("phone", "SMS"), ("chat_webhook", "chat")]


def carry_methods_forward(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for note in Notification.objects.only("pk", "channel", "address", "status").iterator():
        note.methods = [[note.channel, note.address]]
        if note.status == "sent":
            note.sent_channel, note.sent_address = note.channel, note.address
        note.save(update_fields=["methods", "sent_channel", "sent_address"])


def carry_methods_back(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    for note in Notification.objects.only("pk", "methods", "method_index").iterator():
        methods = note.methods or [["email", ""]]
        note.channel, note.address = methods[min(note.method_index, len(methods) - 1)]
        note.save(update_fields=["channel", "address"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="methods",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="notification",
            name="method_index",
            field=models.PositiveSmallIntegerField(default=0, help_text="The method being tried"),
        ),
        migrations.AddField(
            model_name="notification",
            name="method_tries",
            field=models.PositiveSmallIntegerField(default=0, help_text="Failed tries of that method"),
        ),
        migrations.AddField(
            model_name="notification",
            name="recipient_name",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="notification",
            name="template",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="notification",
            name="next_attempt_at",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.AddField(
            model_name="notification",
            name="claim",
            field=models.PositiveIntegerField(default=0, help_text="Bumped by every claim: the claimant's token"),
        ),
        migrations.AddField(
            model_name="notification",
            name="sent_channel",
            field=models.CharField(blank=True, choices=CHANNELS, max_length=20),
        ),
        migrations.AddField(
            model_name="notification",
            name="sent_address",
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name="notification",
            name="subject_type",
            field=models.CharField(blank=True, help_text="e.g. escalations.escalation", max_length=100),
        ),
        migrations.AddField(
            model_name="notification",
            name="subject_id",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="notification",
            name="attempts",
            field=models.PositiveIntegerField(default=0, help_text="Tries, all methods together"),
        ),
        migrations.RunPython(carry_methods_forward, carry_methods_back, elidable=True),
        migrations.RemoveConstraint(
            model_name="notification",
            name="notification_once_per_event",
        ),
        migrations.RemoveIndex(
            model_name="notification",
            name="notification_pending",
        ),
        # A default first, so that migrating back can re-add the column to a table with rows.
        migrations.AlterField(
            model_name="notification",
            name="address",
            field=models.CharField(default="", max_length=500),
        ),
        migrations.RemoveField(
            model_name="notification",
            name="address",
        ),
        migrations.RemoveField(
            model_name="notification",
            name="channel",
        ),
        migrations.AddConstraint(
            model_name="notification",
            constraint=models.UniqueConstraint(
                fields=("event_key", "recipient_key"), name="notification_once_per_recipient"
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("status", "pending")), fields=["next_attempt_at"], name="notification_due"
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(fields=["subject_type", "subject_id", "created_at"], name="notification_subject"),
        ),
        migrations.CreateModel(
            name="DeliveryAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(choices=CHANNELS, max_length=20)),
                ("address", models.CharField(max_length=500)),
                ("ok", models.BooleanField()),
                (
                    "permanent",
                    models.BooleanField(default=False, help_text="Failed for good: not retried on this method"),
                ),
                ("error", models.TextField(blank=True)),
                ("at", models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                (
                    "notification",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="delivery_attempts",
                        to="notifications.notification",
                    ),
                ),
            ],
            options={
                "ordering": ["at", "id"],
                "indexes": [models.Index(fields=["notification", "at"], name="delivery_attempt_notification")],
            },
        ),
    ]
