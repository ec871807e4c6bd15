"""Contact methods: validated as a set (every bad one named at once), kept in priority order."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.contacts.models import ContactMethod
from apps.contacts.services import contact_methods_set
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

GOOD = [
    ("email", "ann@example.com"),
    ("phone", "+447700900123"),
    ("chat_webhook", "https://chat.example.com/hooks/T1"),
]


@pytest.fixture
def ann():
    person = PersonFactory(full_name="Ann")
    contact_methods_set(person=person, methods=GOOD, reason="Onboarding")
    return person


def methods(person) -> list[tuple[str, str, int]]:
    return list(
        ContactMethod.objects.filter(person=person)
        .order_by("priority")
        .values_list("kind", "value", "priority")
    )


def refused(person, new_methods) -> list[str]:
    before, events = methods(person), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        contact_methods_set(person=person, methods=new_methods, reason="Update")
    assert methods(person) == before  # nothing saved
    assert AuditEvent.objects.count() == events
    return caught.value.message_dict["contact_methods"]


def test_it_refuses_a_bad_email_naming_the_value(ann):
    assert refused(ann, [("email", "ann.example.com")]) == [
        "Contact method 1: 'ann.example.com' is not an email address."
    ]


@pytest.mark.parametrize(
    "number", ["07700 900123", "07700900123", "+44 7700 900123", "+0447700900123", "+44"]
)
def test_it_refuses_a_phone_number_not_in_international_form(ann, number):
    messages = refused(ann, [GOOD[0], ("phone", number)])
    assert messages == ["Contact method 2: Phone numbers use the international form, e.g. +447700900123."]


@pytest.mark.parametrize(
    "url", ["http://chat.example.com/hooks/T1", "chat.example.com/hooks", "ftp://chat.example.com/"]
)
def test_it_refuses_a_webhook_that_is_not_https(ann, url):
    messages = refused(ann, [GOOD[0], ("chat_webhook", url)])
    assert messages == ["Contact method 2: A chat webhook must be an https:// URL."]


def test_it_refuses_an_unknown_kind(ann):
    assert refused(ann, [("fax", "+447700900123")]) == ["Contact method 1: Unknown contact method 'fax'."]


def test_it_lists_every_bad_method_at_once(ann):
    messages = refused(
        ann, [("email", "nope"), ("phone", "+447700900123"), ("chat_webhook", "http://x.example.com")]
    )
    assert messages == [
        "Contact method 1: 'nope' is not an email address.",
        "Contact method 3: A chat webhook must be an https:// URL.",
    ]


def test_it_keeps_the_order_given_as_priority(ann):
    assert methods(ann) == [(kind, value, i) for i, (kind, value) in enumerate(GOOD, start=1)]
    assert [(m.kind, m.value) for m in ann.contact_methods.all()] == GOOD


def test_reordering_replaces_the_methods_with_history(ann, gov_admin):
    reordered = [GOOD[1], GOOD[0]]
    contact_methods_set(person=ann, methods=reordered, actor=gov_admin, reason="Phone first")
    assert methods(ann) == [("phone", "+447700900123", 1), ("email", "ann@example.com", 2)]
    removed = ContactMethod.history.filter(person_id=ann.pk, history_type="-")
    assert removed.count() == 3
    assert {(h.history_user_username, h.history_change_reason) for h in removed} == {
        ("gov_admin", "Phone first")
    }
    event = AuditEvent.objects.filter(action="contacts.contact_methods_changed").first()
    assert event.data["after"] == [list(m) for m in reordered]


def test_setting_the_same_methods_again_changes_nothing(ann):
    events, history = AuditEvent.objects.count(), ContactMethod.history.count()
    contact_methods_set(person=ann, methods=list(GOOD), reason="No change")
    assert (AuditEvent.objects.count(), ContactMethod.history.count()) == (events, history)


def test_clearing_every_method_leaves_the_person_unreachable(ann):
    from apps.contacts.selectors import person_problems

    contact_methods_set(person=ann, methods=[], reason="Left the company")
    assert methods(ann) == []
    assert [str(p) for p in person_problems(ann)] == ["Ann: has no contact method"]


def test_the_model_checks_the_value_too():
    method = ContactMethod(person=PersonFactory(), kind="phone", value="07700 900123", priority=1)
    with pytest.raises(ValidationError) as caught:
        method.full_clean()
    assert "value" in caught.value.message_dict
