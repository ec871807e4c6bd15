"""Every URL of the portal, concretely: a walk that tests reuse so no view escapes them.

Three steps, each usable on its own:

``build_world() -> World``
    One small organisation with an object behind every URL argument: a team with an on-call
    rotation, people with users in every role, a business calendar, a three-level policy (its
    top level needs approval), a service, escalations in every state (one awaiting approval with
    its approval request and executive brief, one approved with the brief sent, one rejected
    that may be appealed, a confidential one), a maintenance window and a change freeze, and a
    user for every role (``World.users``, ``World.with_role``). Build it once per test module
    (a few seconds); ``world_fixture`` below does that inside a transaction rolled back at the
    end of the module (so not in modules with ``transactional_db`` tests).

``concrete_urls(world) -> list[Target]``
    Every URL pattern of the project (the admin namespace excepted: Django's admin guards
    itself) as concrete paths: a pattern without arguments once, a pattern with arguments once
    per object of the world it can take (``escalations:detail`` once per escalation state,
    ``escalations:escalate`` once per escalation). A pattern with arguments that
    ``PATTERN_ARGS`` does not know raises ``Unwalked`` naming it: a new view cannot slip out of
    the tests that use the walk. Add its arguments to ``PATTERN_ARGS`` when that happens.

``discover(world, targets)``
    What each URL accepts, learnt the way a browser learns it: GET every page as each user of
    the world (and as a visitor), parse its ``<form>``\\s (inputs, selects, textareas, named
    buttons) with ``html.parser`` and attach each form to the target its ``action`` points at
    (a form with ``method="get"`` gives its target GET parameters); query parameters of links
    back to a page count as its GET parameters too. ``Target.openers`` lists who may open a
    page (GET 200); ``Form.seen_by`` who was shown a form. A form whose empty selects decide
    what else it asks for (the raise form asks for the policy's fields once a service and a
    category are chosen) is looked at a second time with its first options chosen.

Nothing here asserts anything about access or input: tests decide what to check
(``tests/security/test_hostile_input.py`` sends hostile values to every field; a
confidentiality test can GET every ``Target.path`` as every role). For example::

    @pytest.fixture(scope="module")
    def world(django_db_setup, django_db_blocker):
        yield from urlwalk.world_fixture(django_db_setup, django_db_blocker)

    @pytest.mark.django_db
    def test_every_page_as_every_role(world):
        clients = urlwalk.clients_for(world)  # one signed-in client per world user
        with urlwalk.production_rendering():
            for target in urlwalk.concrete_urls(world):
                for key, client in clients.items():
                    status = client.get(target.path).status_code
                    ...  # compare with target.access_rule and world.users[key].roles

Requests through these clients never raise: a view's exception is the 500 page, as users
see it with DEBUG off. ``production_rendering`` makes thousands of requests affordable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from apps.accounts.roles import Role

# Django's admin guards itself (staff + model permissions) and is tested on its own.
EXEMPT_NAMESPACES = {"admin"}
URLENCODED = "application/x-www-form-urlencoded"
FORMSET_ROW = re.compile(r"-\d+-")  # "levels-3-name": a control of a formset's row
MULTIPART = "multipart/form-data"


# --- the URL patterns -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str  # "escalations:detail"
    route: str  # "escalations/<int:pk>/"
    view: Callable

    @property
    def has_arguments(self) -> bool:
        return "<" in self.route


def walk(patterns=None, namespace: str | None = None, prefix: str = "") -> Iterator[Pattern]:
    """Every named URL pattern under the root URLconf, admin excepted, in declaration order."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if ns in EXEMPT_NAMESPACES:
                continue
            yield from walk(entry.url_patterns, ns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield Pattern(name or "", prefix + str(entry.pattern), entry.callback)


# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    """The objects behind every URL. ``users`` are keyed by what they are to the world:

    ``gov_admin``, ``auditor``, ``hr_officer`` (by role); ``raiser`` (staff, raised every
    escalation), ``engineer`` (responder, owns level 1), ``backup``, ``eng_manager`` (level 2),
    ``lead`` (the raiser's manager: decides approvals), ``director``, ``deputy`` (managers above
    the lead), ``cto`` (executive, level 3); ``outsider`` (signed in, no role).
    """

    users: dict[str, object]
    team: object
    rotation: object
    calendar: object
    policy: object
    service: object
    escalations: dict[str, object]  # by state: open, acknowledged, awaiting_approval, ...
    requests: dict[str, object]  # approval requests: pending, approved, rejected
    briefs: dict[str, object]  # executive briefs: pending (not sent), approved (sent)
    window: object
    freeze: object
    calendar_change: object = None
    people: list = field(default_factory=list)
    protection: dict = field(default_factory=dict)  # reports, disclosure, flag, action
    holds: list = field(default_factory=list)  # legal holds (apps.audit.retention)
    exports: list = field(default_factory=list)  # the auditor's export jobs: one written, one waiting

    def with_role(self, role: Role) -> list[str]:
        """The keys of ``users`` who have ``role`` (one user per role at least)."""
        return [key for key, user in self.users.items() if role in user.roles]


def build_world() -> World:
    """The organisation of ``tests/approvals/conftest.py`` (a management line above the raiser,
    a 24x7 policy whose level 3 needs approval), plus what the other pages need."""
    from apps.accounts.models import User
    from apps.approvals.services import approval_decide
    from apps.escalations import services as esc
    from apps.policies.models import BusinessCalendar, CalendarChange, ChangeFreeze, MaintenanceWindow
    from apps.policies.services import calendar_change_schedule
    from apps.policies.windows import change_freeze_save, maintenance_window_save
    from tests.approvals.conftest import ask_for_the_cto, build_org, to_level_two
    from tests.escalations.conftest import raise_one
    from tests.factories import UserFactory, reachable_person, rotation_with

    org = build_org()
    admin = UserFactory(username="gov_admin", roles=[Role.GOVERNANCE_ADMIN])
    hr = UserFactory(username="hr_officer", roles=[Role.HR_COMPLIANCE])
    users = {
        "gov_admin": admin,
        "auditor": org.auditor,
        "hr_officer": hr,
        **{name: getattr(org, name) for name in ("raiser", "engineer", "backup", "eng_manager")},
        **{name: getattr(org, name) for name in ("lead", "director", "deputy", "cto")},
        "outsider": org.outsider,
    }
    team = org.service.owner_team
    # Far from UTC, so a local time typed for it can fall outside what UTC can hold.
    members = [org.person(org.engineer), org.person(org.backup)]
    rotation = rotation_with(members, team=team, timezone="Pacific/Kiritimati")
    escalations = {"open": raise_one(org)}
    escalations["acknowledged"] = esc.escalation_acknowledge(escalation=raise_one(org), actor=org.engineer)
    resolved = esc.escalation_acknowledge(escalation=raise_one(org), actor=org.engineer)
    summary = "Rolled back the deploy; error rate back to normal for an hour."
    escalations["resolved"] = esc.escalation_resolve(
        escalation=resolved, actor=org.engineer, summary=summary, criteria_confirmed=resolved.criteria
    )
    closed = esc.escalation_acknowledge(escalation=raise_one(org), actor=org.engineer)
    esc.escalation_resolve(
        escalation=closed, actor=org.engineer, summary=summary, criteria_confirmed=closed.criteria
    )
    escalations["closed"] = esc.escalation_close(escalation=closed, actor=org.raiser)
    escalations["withdrawn"] = esc.escalation_withdraw(
        escalation=raise_one(org), actor=org.raiser, reason="Raised against the wrong service."
    )
    escalations["confidential"] = raise_one(org, confidential=True)
    requests = {}
    for state in ("pending", "approved", "rejected"):
        level_two = to_level_two(org)
        requests[state] = ask_for_the_cto(org, level_two)
        escalations["awaiting_approval" if state == "pending" else state] = level_two
    approval_decide(approval=requests["approved"], actor=org.lead, approve=True)
    approval_decide(
        approval=requests["rejected"], actor=org.lead, approve=False, reason="Not an executive matter yet."
    )
    for key in ("approved", "rejected"):
        requests[key].refresh_from_db()
    for value in escalations.values():
        value.refresh_from_db()
    now = timezone.now()
    window = maintenance_window_save(
        window=MaintenanceWindow(
            name="Database upgrade",
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=4),
        ),
        services=[org.service],
        actor=admin,
        reason="Planned upgrade of the payments database.",
    )
    freeze = change_freeze_save(
        freeze=ChangeFreeze(
            name="Year-end",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=7),
            reason="Trading peak.",
        ),
        services=[org.service],
        actor=admin,
        reason="Year-end trading freeze.",
    )
    calendar = org.policy.calendar
    calendar_change = calendar_change_schedule(
        calendar=calendar,
        target=BusinessCalendar(**{name: getattr(calendar, name) for name in CalendarChange.FIELDS}),
        closures=[],
        effective_at=now + timedelta(days=30),
        actor=admin,
        reason="Planned: same hours, closures cleared.",
    )
    protection = _protection_world(users, escalations["open"])
    return World(
        users={k: User.objects.get(pk=u.pk) for k, u in users.items()},  # fresh: roles cached per instance
        team=team,
        rotation=rotation,
        calendar=org.policy.calendar,
        policy=org.policy,
        service=org.service,
        escalations=escalations,
        requests=requests,
        briefs={key: requests[key].brief for key in ("pending", "approved")},
        window=window,
        freeze=freeze,
        calendar_change=calendar_change,
        people=[reachable_person(team=team, full_name="Noor Haddad")],
        protection=protection,
        holds=[_legal_hold(escalations["closed"], admin)],
        exports=_export_jobs(users["auditor"]),
    )


def _export_jobs(auditor) -> list:
    """The auditor's trail written to a file by the job, and one still waiting for a worker."""
    from apps.exports.models import ExportJob
    from apps.exports.services import export_job_run

    done = ExportJob.objects.create(requester=auditor, kind="audit-trail", params={})
    export_job_run(job_id=done.pk)
    waiting = ExportJob.objects.create(requester=auditor, kind="decision-log", params={})
    return [done, waiting]


def _legal_hold(escalation, actor):
    from apps.audit.retention import legal_hold_place

    return legal_hold_place(
        target_type="escalation",
        target_id=str(escalation.pk),
        target_repr=escalation.reference,
        actor=actor,
        reason="Employment tribunal claim: keep everything.",
    )


def _protection_world(users: dict, open_escalation) -> dict:
    """A confidential case by the raiser about the open escalation, naming the lead (reviewed by
    the HR officer, who asked for the identity), an anonymous case nobody has taken, and the
    lead's demotion of the raiser (flagged, waiting for sign-off)."""
    from datetime import date

    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.protection import services as protection
    from apps.protection.models import CaseAttachment

    confidential, _ = protection.report_file(
        mode="confidential",
        what_happened="My hours were cut after I raised the payments escalation.",
        reporter=users["raiser"],
        escalation_id=open_escalation.pk,
        people_named=[users["lead"]],
        attachment=SimpleUploadedFile("rota.pdf", b"%PDF-1.4 rota", content_type="application/pdf"),
    )
    protection.reviewer_assign(report=confidential, reviewer=users["hr_officer"], actor=users["hr_officer"])
    anonymous, _ = protection.report_file(mode="anonymous", what_happened="I was moved to nights.")
    disclosure = protection.disclosure_request(
        report=confidential, actor=users["hr_officer"], reason="We need to interview them."
    )
    action = protection.adverse_action_record(
        person=users["raiser"],
        actor=users["lead"],
        kind="demotion",
        takes_effect_on=date(2030, 1, 1),
        reason="Grade review.",
        recorded_by=users["hr_officer"],
    )
    return {
        "reports": [confidential, anonymous],
        "attachments": list(CaseAttachment.objects.filter(entry__report=confidential)),
        "disclosure": disclosure,
        "flag": action.flags.first(),
        "action": action,
    }


def _escalation_verbs() -> tuple:
    from apps.escalations.views import VERBS

    return VERBS


# url name -> the keyword arguments of its concrete URLs in a world. A pattern with arguments
# that is missing here makes ``concrete_urls`` raise ``Unwalked``.
PATTERN_ARGS: dict[str, Callable[[World], list[dict]]] = {
    "contacts:team": lambda w: [{"slug": w.team.slug}],
    "contacts:person": lambda w: [{"pk": p.pk} for p in _people(w)],
    "contacts:person_edit": lambda w: [{"pk": _people(w)[0].pk}],
    "contacts:backup_add": lambda w: [{"pk": _people(w)[0].pk}],
    "contacts:rotation": lambda w: [{"pk": w.rotation.pk}],
    "contacts:rotation_edit": lambda w: [{"pk": w.rotation.pk}],
    "contacts:override_add": lambda w: [{"pk": w.rotation.pk}],
    "policies:detail": lambda w: [{"pk": w.policy.pk}],
    "policies:edit": lambda w: [{"pk": w.policy.pk}],
    "policies:review": lambda w: [{"pk": w.policy.pk}],
    "policies:calendar": lambda w: [{"pk": w.calendar.pk}],
    "policies:calendar_edit": lambda w: [{"pk": w.calendar.pk}],
    "policies:calendar_change_cancel": lambda w: [{"pk": w.calendar_change.pk}],
    "escalations:detail": lambda w: [{"pk": e.pk} for e in w.escalations.values()],
    **{
        f"escalations:{verb.__name__}": (lambda w: [{"pk": e.pk} for e in w.escalations.values()])
        for verb in _escalation_verbs()
    },
    "approvals:request": lambda w: [{"pk": r.pk} for r in w.requests.values()],
    "approvals:decide": lambda w: [{"pk": r.pk} for r in w.requests.values()],
    "approvals:appeal": lambda w: [{"pk": r.pk} for r in w.requests.values()],
    "approvals:around": lambda w: [{"pk": r.pk} for r in w.requests.values()],
    "approvals:freeze_exception": lambda w: [{"freeze_pk": w.freeze.pk}],
    "approvals:brief": lambda w: [{"pk": b.pk} for b in w.briefs.values()],
    "approvals:brief_ack": lambda w: [{"pk": b.pk} for b in w.briefs.values()],
    "account:password_reset_confirm": lambda w: [_reset_link(w.users["raiser"])],
    "protection:mine_case": lambda w: [{"pk": r.pk} for r in w.protection["reports"]],
    "protection:case": lambda w: [{"pk": r.pk} for r in w.protection["reports"]],
    "protection:take": lambda w: [{"pk": r.pk} for r in w.protection["reports"]],
    "protection:disclosure": lambda w: [{"pk": w.protection["disclosure"].pk}],
    "protection:flag_close": lambda w: [{"pk": w.protection["flag"].pk}],
    "protection:sign_off": lambda w: [{"pk": w.protection["action"].pk}],
    "protection:attachment": lambda w: [{"pk": a.pk} for a in w.protection["attachments"]],
    "exports:job": lambda w: [{"pk": j.pk} for j in w.exports],
    "exports:job_status": lambda w: [{"pk": j.pk} for j in w.exports],
    "exports:download": lambda w: [{"pk": j.pk} for j in w.exports],
    "audit:retention_rule": lambda w: [{"key": "escalations"}],
    "audit:hold_release": lambda w: [{"pk": h.pk} for h in w.holds],
    # An escalation in the open and a confidential one stand for every state: these pages read
    # alike whatever the state, and the walk's probes multiply by every concrete URL.
    "audit:evidence": lambda w: [{"pk": w.escalations[k].pk} for k in ("closed", "confidential")],
    "audit:object_history": lambda w: [
        *({"kind": "escalation", "pk": w.escalations[k].pk} for k in ("closed", "confidential")),
        {"kind": "brief", "pk": w.briefs["pending"].pk},
        {"kind": "approval", "pk": w.requests["approved"].pk},
        {"kind": "person", "pk": _people(w)[0].pk},
        {"kind": "policy", "pk": w.policy.pk},
    ],
}


def _reset_link(user) -> dict:
    """A real password-reset link for ``user`` (the page 404s when reset is off)."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return {"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)}


def _people(world: World) -> list:
    """A person with a user (the raiser) and one without: their pages differ."""
    from apps.contacts.models import Person

    return [Person.objects.get(user=world.users["raiser"]), *world.people]


# --- targets ----------------------------------------------------------------------------------


@dataclass
class Field:
    """One named control of a form, as a browser sees it."""

    name: str
    kind: str  # input type ("text", "number", "date", "hidden", "checkbox", "file", ...),
    #            "select", "select-multiple", "textarea" or "submit" (a named button)
    default: list[str] = field(default_factory=list)  # what the browser sends untouched
    options: list[str] = field(default_factory=list)  # selects, radios, checkbox groups
    maxlength: int | None = None  # the control's own limit, when it says


@dataclass
class Form:
    method: str  # "get" | "post"
    enctype: str
    fields: list[Field]
    page: str  # the path of the page it was found on
    seen_by: list[str] = field(default_factory=list)  # world user keys ("" = a visitor)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def defaults(self) -> list[tuple[str, str]]:
        """What submitting the form untouched sends (the first named button pressed)."""
        pairs, pressed = [], False
        for f in self.fields:
            if f.kind == "submit":
                if not pressed:
                    pairs.append((f.name, f.default[0]))
                    pressed = True
                continue
            pairs.extend((f.name, value) for value in f.default)
        return pairs

    def filled(self) -> list[tuple[str, str]]:
        """The defaults with every empty control given a plausible value: the first option of
        an empty select, a sentence in empty text, tomorrow in an empty date. A hostile value
        in one field then travels past "this field is required" in the others, as far into
        the view and its service as it can."""
        pairs = []
        for name, value in self.defaults():
            fill = not value and not FORMSET_ROW.search(name)  # an empty row is meant to stay empty
            pairs.append((name, _plausible(self.field(name)) if fill else value))
        present = {name for name, _ in pairs}
        for f in self.fields:  # an empty multiple select sends nothing: choose its first option
            if f.name not in present and f.kind == "select-multiple" and f.options:
                pairs.append((f.name, f.options[0]))
        return pairs

    @property
    def key(self) -> tuple:
        """Two forms with this key are the same form (seen by several users or on several pages)."""
        return (self.method, tuple(sorted({f.name for f in self.fields})))

    @property
    def shape(self) -> tuple:
        """Like ``key``, with formset rows counted once: a policy with three levels and the new
        policy page (three empty rows, or four) have one shape."""
        return (self.method, tuple(sorted({normalised(f.name) for f in self.fields})))


# Optional controls a plausible sentence would make invalid: lines of "name | label | help"
# and of "YYYY-MM-DD reason". Left empty by ``Form.filled``.
STRUCTURED_TEXT = {"extra_required_fields", "closures"}


def _plausible(f: Field) -> str:
    """A value that passes most forms' rules for an empty control. Times stay empty (working
    hours are optional, and equal start and end times are refused); moments lie in the past
    (detection cannot be in the future) unless the control is an end, which lies ahead."""
    today = timezone.localdate()
    ends = "end" in f.name
    moment = today + timedelta(days=2 if ends else -1)
    by_kind = {
        "email": "walk@example.com",
        "date": (today + timedelta(days=1) if ends else today).isoformat(),
        "datetime-local": f"{moment.isoformat()}T10:00",
        "number": "1",
        "url": "https://example.com/",
        "tel": "+447700900123",
    }
    if f.kind == "select":
        return next((o for o in f.options if o), "")
    sentence = "Checked by the URL walk: a plausible sentence of text."
    if f.kind in ("text", "textarea", "search", "") and f.name not in STRUCTURED_TEXT:
        return sentence if (f.maxlength or len(sentence)) >= len(sentence) else ""  # a short code
    return by_kind.get(f.kind, "")


@dataclass
class Target:
    """One concrete URL: which pattern, which arguments, which view, and what it accepts."""

    name: str
    route: str
    path: str
    kwargs: dict
    view: Callable
    forms: list[Form] = field(default_factory=list)  # forms that submit here (filled by discover)
    link_params: set[str] = field(default_factory=set)  # query parameters of links back here
    openers: list[str] = field(default_factory=list)  # world user keys that GET it with 200
    status: dict[str, int] = field(default_factory=dict)  # GET status by world user key (405: POST only)

    @property
    def access_rule(self):
        return getattr(self.view, "access_rule", None)

    @property
    def get_params(self) -> list[str]:
        names = set(self.link_params)
        for form in self.forms:
            if form.method == "get":
                names.update(f.name for f in form.fields if f.kind != "submit")
        return sorted(names)

    @property
    def post_forms(self) -> list[Form]:
        return [f for f in self.forms if f.method == "post"]

    def __str__(self) -> str:
        return self.path


class Unwalked(AssertionError):
    """A URL pattern the walk has no concrete URL for."""


def concrete_urls(world: World) -> list[Target]:
    targets, missing = [], []
    for pattern in walk():
        if not pattern.has_arguments:
            kwargs_list = [{}]
        elif pattern.name in PATTERN_ARGS:
            kwargs_list = PATTERN_ARGS[pattern.name](world)
        else:
            kwargs_list = []
        if not kwargs_list:
            missing.append(f"{pattern.route} ({pattern.name or 'unnamed'})")
        for kwargs in kwargs_list:
            path = reverse(pattern.name, kwargs=kwargs)
            targets.append(Target(pattern.name, pattern.route, path, kwargs, pattern.view))
    if missing:
        raise Unwalked(
            "No concrete URL for: " + ", ".join(missing) + ". Name the pattern and give its "
            "arguments in tests/urlwalk.py PATTERN_ARGS (from an object of the world)."
        )
    return targets


# --- discovery --------------------------------------------------------------------------------


class _PageParser(HTMLParser):
    """Forms and links of one page. Controls outside a form (``form=`` attributes) are not
    used by the portal and are ignored."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[dict, list[Field]]] = []
        self.links: list[str] = []
        self._fields: list[Field] | None = None
        self._select: Field | None = None
        self._option: dict | None = None
        self._textarea: Field | None = None

    def _add(self, name: str | None, kind: str, value: str | None = None, *, option=None, maxlength=None):
        if not name or self._fields is None:
            return None
        existing = next((f for f in self._fields if f.name == name), None)
        if existing is None:
            limit = int(maxlength) if maxlength and maxlength.isdigit() else None
            existing = Field(name, kind, maxlength=limit)
            self._fields.append(existing)
        if value is not None:
            existing.default.append(value)
        if option is not None:
            existing.options.append(option)
        return existing

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._fields = []
            self.forms.append((a, self._fields))
        elif self._fields is None or "disabled" in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                self._add(
                    a.get("name"),
                    kind,
                    a.get("value", "on") if "checked" in a else None,
                    option=a.get("value", "on"),
                )
            elif kind in ("submit", "image"):
                self._add(a.get("name"), "submit", a.get("value", ""))
            elif kind not in ("reset", "button"):
                value = "" if kind == "file" else a.get("value", "")
                self._add(a.get("name"), kind, value, maxlength=a.get("maxlength"))
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._add(a.get("name"), "submit", a.get("value", ""))
        elif tag == "select":
            self._select = self._add(a.get("name"), "select-multiple" if "multiple" in a else "select")
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
        elif tag == "textarea":
            self._textarea = self._add(a.get("name"), "textarea", maxlength=a.get("maxlength"))
            self._text = []

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "option" and self._option is not None:
            self._end_option()
        elif tag == "select" and self._select is not None:
            if self._option is not None:
                self._end_option()
            if self._select.kind == "select" and not self._select.default and self._select.options:
                self._select.default.append(self._select.options[0])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # The parser drops the newline that follows <textarea>, as browsers do.
            self._textarea.default.append("".join(self._text).removeprefix("\n"))
            self._textarea = None

    def _end_option(self):
        value = self._option["value"] if self._option["value"] is not None else self._option["text"].strip()
        self._select.options.append(value)
        if self._option["selected"]:
            self._select.default.append(value)
        self._option = None


def parse_page(page_path: str, html: str) -> tuple[list[tuple[str, Form]], list[tuple[str, set[str]]]]:
    """``([(action path, Form)], [(link path, {query parameter names})])`` of one page."""
    parser = _PageParser()
    parser.feed(html)
    forms = []
    for attrs, fields in parser.forms:
        action = urlsplit(urljoin(page_path, attrs.get("action") or ""))
        method = (attrs.get("method") or "get").lower()
        enctype = attrs.get("enctype") or URLENCODED
        fields = [f for f in fields if f.name != "csrfmiddlewaretoken"]
        forms.append((action.path, Form(method, enctype, fields, page_path)))
    links = []
    for href in parser.links:
        parts = urlsplit(urljoin(page_path, href))
        if parts.query and not parts.scheme.startswith("javascript"):
            links.append((parts.path, {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}))
    return forms, links


def clients_for(world: World, users: list[str] | None = None) -> dict[str, Client]:
    """A signed-in client per world user (or per key in ``users``), ``""`` for a visitor
    (kept for public pages: every other page sends a visitor to the login page).
    Responses are returned, never raised: tests see what a browser would see (the 500 page
    of DEBUG-off, not a traceback)."""
    keys = list(world.users) if users is None else [k for k in users if k]
    clients = {"": Client(raise_request_exception=False)}
    for key in keys:
        clients[key] = Client(raise_request_exception=False)
        clients[key].force_login(world.users[key])
    return clients


@contextmanager
def production_rendering() -> Iterator[None]:
    """Templates rendered as in production while a walk runs.

    The test environment wraps every template render to hand the test client a copy of its
    context, once per widget: a policy form of 1,500 widgets renders four times slower. Walks
    send thousands of requests and never read those copies."""
    from django.template.base import Template
    from django.test.utils import _TestState

    saved = getattr(_TestState, "saved_data", None)
    original = getattr(saved, "template_render", None)
    instrumented = Template._render
    if original is not None:
        Template._render = original
    try:
        yield
    finally:
        Template._render = instrumented


def discover(world: World, targets: list[Target], users: list[str] | None = None) -> dict[str, Client]:
    """GET every target as each world user (all, or the keys in ``users``) and as a visitor,
    and attach the forms and links found. Returns the signed-in clients, keyed like
    ``world.users``, so the caller can go on with the same sessions.

    Every page costs one GET per user: pass the few users whose pages differ (the admin, the
    participants) when time matters."""
    clients = clients_for(world, users)
    with production_rendering():
        _discover(clients, targets)
    return clients


def _discover(clients: dict[str, Client], targets: list[Target]) -> None:
    by_path = {t.path: t for t in targets}
    for target in targets:
        for key, client in clients.items():
            if key == "" and getattr(target.access_rule, "kind", None) != "public":
                continue  # a visitor is sent to the login page; nothing to learn there
            response = client.get(target.path)
            target.status[key] = response.status_code
            if response.status_code == 405:
                break  # POST only: the same for everyone
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            target.openers.append(key)
            _attach(by_path, target.path, response.content.decode(), key)
    _second_look(by_path, clients)


def _attach(by_path: dict[str, Target], page: str, html: str, seen_by: str) -> list[tuple[Target, Form]]:
    forms, links = parse_page(page, html)
    attached = []
    for action, form in forms:
        target = by_path.get(action)
        if target is None:
            continue
        same = next((f for f in target.forms if f.key == form.key), None)
        if same is None:
            target.forms.append(form)
            same = form
        if seen_by not in same.seen_by:
            same.seen_by.append(seen_by)
        attached.append((target, same))
    for path, names in links:
        if path in by_path:
            by_path[path].link_params.update(names)
    return attached


def _second_look(by_path: dict[str, Target], clients: dict[str, Client]) -> None:
    """Open a page again with the first option of each empty select of its own form chosen,
    and keep the fields that only appear then (the policy's fields of the raise form)."""
    for target in list(by_path.values()):
        for form in list(target.post_forms):
            empties = [f for f in form.fields if f.kind == "select" and f.options and f.default == [""]]
            if form.page != target.path or not empties:
                continue
            chosen = {f.name: next((o for o in f.options if o), "") for f in empties}
            response = clients[form.seen_by[0]].get(f"{target.path}?{urlencode(chosen)}")
            if response.status_code != 200:
                continue
            # Buttons come and go with the choice (the raise form's "Continue"); the inputs decide.
            inputs = {f.name for f in form.fields if f.kind != "submit"}
            for _, fresh in parse_page(target.path, response.content.decode())[0]:
                if fresh.method == form.method and inputs < {f.name for f in fresh.fields}:
                    form.fields = [f for f in form.fields if f.kind != "submit"]
                    form.fields.extend(f for f in fresh.fields if f.name not in inputs)
                    for f in empties:  # keep the choices that made the extra fields appear
                        f.default = [chosen[f.name]]


# --- using the walk in a test module ----------------------------------------------------------


def world_fixture(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Body of a module- or class-scoped fixture: the world, built once, rolled back after.

    Usage::

        @pytest.fixture(scope="module")
        def world(django_db_setup, django_db_blocker):
            yield from urlwalk.world_fixture(django_db_setup, django_db_blocker)

    Tests that use it are ``django_db`` tests as usual: each runs in a savepoint inside this
    transaction, so what one test changes the next does not see.
    """
    with django_db_blocker.unblock():
        with transaction.atomic():
            yield build_world()
            transaction.set_rollback(True)


def normalised(name: str) -> str:
    """``levels-2-name`` and ``levels-0-name`` are the same field of a formset; ``d3_1_start``
    and ``d0_2_end`` the same kind of field: digits replaced by ``#``."""
    return re.sub(r"\d+", "#", name)
