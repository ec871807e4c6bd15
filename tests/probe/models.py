from django.db import models


class ProbeHit(models.Model):
    """One row per handler run that committed. Duplicates would show as two rows."""

    deadline_id = models.BigIntegerField(db_index=True)
    due_at = models.DateTimeField()
    fired_at = models.DateTimeField()
    worker_pid = models.IntegerField()

    def __str__(self) -> str:
        return f"deadline {self.deadline_id} fired at {self.fired_at} by pid {self.worker_pid}"
