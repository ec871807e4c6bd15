"""What every form of the portal shares: Bootstrap classes on the widgets, the browser's own
date and time pickers, the required change-reason field, the timezone select, and putting a
service's ``ValidationError`` back on the form that sent it.

Forms parse; services decide. A service refuses with ``ValidationError({field: [messages]})``
and the view hands it to ``apply_errors(form, error_dict(exc))``: messages about a field of the
form appear beside it, the rest come back for the page to show beside the part they concern.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import SafeString, mark_safe

from apps.common.html import escaped
from apps.common.moments import timezone_names, to_utc

REASON_LABEL = "Reason for this change"
REASON_HELP = "Kept in the history and the audit trail beside the change (at least 5 characters)."
REASON_MISSING = "Say why this changes (at least 5 characters): it is kept in the history."
MIN_REASON = 5


class BootstrapMixin:
    """Bootstrap classes on every widget, and ``is-invalid`` on a field once it has an error.

    Checkbox lists and hidden inputs are left alone: a list styles each box itself (the form
    passes ``form-check-input``), and a hidden input has nothing to show."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.HiddenInput):
                continue
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {_css(widget)}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            attrs = self.fields[name].widget.attrs if name in self.fields else None
            if attrs is not None and "is-invalid" not in attrs.get("class", ""):
                attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()


def _css(widget: forms.Widget) -> str:
    if isinstance(widget, forms.CheckboxInput):
        return "form-check-input"
    if isinstance(widget, forms.Select):
        return "form-select"
    return "form-control"


# Dates and times are typed as ISO text, not with the browser's picker: a picker shows the
# browser's locale (12/07/2026 is 7 December or 12 July depending on whose laptop), while the
# portal's pages, exports and audit trail all write 2026-12-07 14:30. The placeholder shows the
# form; the fields also accept what a picker would send. There is no pattern attribute: the
# portal, not the browser, says what is wrong, beside the field, in its own words.


class DateInput(forms.DateInput):
    """A date typed as 2026-12-07, whatever the browser's locale."""

    input_type = "text"

    def __init__(self, attrs=None, **kwargs):
        attrs = {
            "placeholder": "YYYY-MM-DD",
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 10,
            **(attrs or {}),
        }
        super().__init__(attrs=attrs, format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    """A time of day typed as 14:30 (24-hour clock)."""

    input_type = "text"

    def __init__(self, attrs=None, **kwargs):
        attrs = {
            "placeholder": "HH:MM",
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": 5,
            **(attrs or {}),
        }
        super().__init__(attrs=attrs, format="%H:%M", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    """A date and time typed as 2026-12-07 14:30 (24-hour clock), whatever the browser's locale."""

    input_type = "text"

    def __init__(self, attrs=None, **kwargs):
        attrs = {
            "placeholder": "YYYY-MM-DD HH:MM",
            "autocomplete": "off",
            "size": 16,
            **(attrs or {}),
        }
        super().__init__(attrs=attrs, format="%Y-%m-%d %H:%M", **kwargs)


# What a DateTimeField with a DateTimeInput accepts: the picker's format, and the same typed
# with a space (a pasted value, a test, a browser without the picker).
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def reason_field(**kwargs) -> forms.CharField:
    """The required "why" of a change to governed data; the services check it again."""
    return forms.CharField(
        label=REASON_LABEL,
        max_length=500,
        min_length=MIN_REASON,
        help_text=REASON_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": REASON_MISSING, "min_length": REASON_MISSING},
        **kwargs,
    )


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(timezone_names())]


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A ``ValidationError``'s messages by field; one without fields is form-wide (``__all__``)."""
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def apply_errors(
    form: forms.Form, errors: dict[str, list[str]], aliases: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Put ``{field: [messages]}`` from a service on the form; return what matched no field
    (``levels``, ``thresholds``, ``contact_methods``...) for the page to show beside the part
    it concerns. ``aliases`` maps a service's name for a field to the form's."""
    aliases = aliases or {}
    leftover: dict[str, list[str]] = {}
    for name, messages in errors.items():
        name = aliases.get(name, name)
        if name in form.fields:
            form.add_error(name, messages)
        elif name in ("__all__", None):
            form.add_error(None, messages)
        else:
            leftover.setdefault(name, []).extend(messages)
    return leftover


def storable_instant(form: forms.Form, name: str):
    """A typed moment (read in the reader's zone) as an instant the portal can store: 9999-12-31
    23:00 typed in Honolulu is in the year 10000 in UTC, refused beside its field."""
    value = form.cleaned_data.get(name)
    return to_utc(value, what=str(form.fields[name].label)) if value else value


def ordered_range(form: forms.Form, start: str, end: str) -> None:
    """A "from" after its "until" is refused beside the "until" field, not silently empty."""
    data = form.cleaned_data
    if data.get(start) and data.get(end) and data[start] > data[end]:
        form.add_error(end, f"{data[end]} is before {data[start]}: the range is the wrong way round.")


# Widgets printed in Python. Django renders a widget through its templates (a <select> through
# three an option: select, option, attrs): about a millisecond a field, on every page that shows
# a list's filter form (issue 13). These print the same HTML as Django's templates
# (tests/common/test_quick_widgets.py renders both and compares them).


def _attrs_html(attrs: dict) -> str:
    """``django/forms/widgets/attrs.html``: ``False`` leaves an attribute out, ``True`` prints
    its name alone."""
    return "".join(
        f" {escaped(name)}" if value is True else f' {escaped(name)}="{_text(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _text(value) -> str:
    """``{{ value|stringformat:'s' }}``: escaped unless already safe."""
    return escaped(value if isinstance(value, SafeString) else f"{value}")


class QuickInputMixin:
    """``django/forms/widgets/input.html`` in Python, for the input widgets."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
        html = f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{shown}'
        return mark_safe(f"{html}{_attrs_html(widget['attrs'])}>")  # noqa: S308 - every part escaped


class QuickTextInput(QuickInputMixin, forms.TextInput):
    pass


class QuickDateInput(QuickInputMixin, DateInput):
    pass


class QuickSelect(forms.Select):
    """``django/forms/widgets/select.html`` and its options in Python."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{_text(widget["name"])}"{_attrs_html(widget["attrs"])}>']
        for group, options, _index in widget["optgroups"]:
            if group:
                parts.append(f'\n  <optgroup label="{_text(group)}">')
            parts.extend(
                f'\n  <option value="{_text(option["value"])}"{_attrs_html(option["attrs"])}>'
                f"{escaped(option['label'])}</option>\n"  # the option template's last line
                for option in options
            )
            if group:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every part escaped


class QuickSelectMultiple(QuickSelect, forms.SelectMultiple):
    pass
