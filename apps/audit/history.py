"""simple-history configured the way every tracked model in the portal uses it.

History rows keep the actor's id as a plain integer and the username as text instead of a
foreign key, so a deleted account never erases who changed what (DESIGN.md, audit).
"""

from __future__ import annotations

from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


class HistoryActorMixin(models.Model):
    history_user_username = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        abstract = True


def tracked_history(**kwargs) -> HistoricalRecords:
    """``HistoricalRecords`` whose actor survives the deletion of the account."""
    kwargs.setdefault("history_user_id_field", models.BigIntegerField(null=True, blank=True))
    kwargs.setdefault("bases", [HistoryActorMixin])
    return HistoricalRecords(**kwargs)


@receiver(pre_create_historical_record)
def keep_actor_username(sender, history_instance, history_user, **kwargs) -> None:
    # Infrastructure, not business logic: stamping who acted is part of writing the row.
    if history_user is not None and hasattr(history_instance, "history_user_username"):
        history_instance.history_user_username = history_user.get_username()
