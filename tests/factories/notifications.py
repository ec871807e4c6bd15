"""Outbox rows and their delivery attempts, for tests that read the outbox rather than fill it
(``apps.notifications.services.notify`` fills it)."""

from __future__ import annotations

import factory

from apps.notifications.models import DeliveryAttempt, Notification


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    event_key = factory.Sequence(lambda n: f"test:{n}")
    recipient_key = factory.Sequence(lambda n: f"person:{n}")
    subject = "Subject"
    body = "Body"


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeliveryAttempt

    notification = factory.SubFactory(NotificationFactory)
    channel = "email"
    address = "someone@example.com"
    ok = True
