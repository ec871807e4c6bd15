"""What the protection app (a platform app, which knows no escalation) learns about escalations
and people: registered in ``EscalationsConfig.ready``."""

from __future__ import annotations

from apps.contacts.models import Person
from apps.escalations.models import Escalation, EscalationUserObjectPermission
from apps.protection import links


def people_of(escalation_id: int) -> set[int]:
    """Everyone taking part (raiser, owners, levels reached, backups, approvers): the guardian
    rows every such step grants."""
    return set(
        EscalationUserObjectPermission.objects.filter(content_object_id=escalation_id).values_list(
            "user_id", flat=True
        )
    )


def managers_of(user_ids: set[int]) -> set[int]:
    found: set[int] = set()
    for person in Person.objects.filter(user_id__in=user_ids).select_related("manager"):
        found |= {boss.user_id for boss in person.management_chain() if boss.user_id}
    return found


def named_in(escalation_id: int, actor_id: int) -> list[str]:
    from apps.escalations.services.conversation import stakeholders

    esc = Escalation.objects.filter(pk=escalation_id).select_related("raiser_person").first()
    if esc is None:
        return []
    found = []
    if any(p.user_id == actor_id for p in stakeholders(esc)[1:]):
        found.append("was named in it (worked on it or was reached by it)")
    raiser = esc.raiser_person
    if raiser and any(boss.user_id == actor_id for boss in raiser.management_chain()):
        found.append("manages its raiser")
    return found


def escalation_of(escalation_id: int, user) -> links.EscalationRef | None:
    esc = Escalation.objects.filter(pk=escalation_id, raiser_id=getattr(user, "pk", None)).first()
    return links.EscalationRef(esc.pk, esc.reference, esc.title) if esc else None


def register() -> None:
    links.register(
        people_of=people_of, managers_of=managers_of, actor_link=named_in, escalation_of=escalation_of
    )
