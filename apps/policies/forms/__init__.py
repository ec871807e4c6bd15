"""Forms for the policy pages. They parse what the browser sends into the shapes the services
take (``LevelSpec``, ``ThresholdSpec``, weekly hours, closures); the rules themselves live in
``apps.policies.services`` and the models, whose ``ValidationError``\\s the views put back on
these forms. A check appears here only where the admin needs the message beside one field
(a target missing for the chosen kind, a malformed line in a textarea).

One module per page: the policy with its level chain (``policy``), the threshold matrix
(``thresholds``), business calendars (``calendars``), maintenance windows and change freezes
(``periods``) and the review (``review``); ``editor`` binds the policy page's three parts. What the views use is importable from here.
"""

from apps.policies.forms.calendars import (
    CalendarChangeCancelForm,
    CalendarForm,
    EndTimeField,
    EndTimeInput,
    hours_field_name,
)
from apps.policies.forms.editor import PolicyEditor, PolicyParts
from apps.policies.forms.periods import (
    ChangeFreezeForm,
    MaintenanceWindowForm,
    PeriodForm,
    default_period_start,
)
from apps.policies.forms.policy import LevelForm, LevelFormSet, NewLevelFormSet, PolicyForm, level_formset
from apps.policies.forms.review import ReviewForm
from apps.policies.forms.thresholds import ThresholdForm, ThresholdFormSet, threshold_initial

__all__ = [
    "CalendarChangeCancelForm",
    "CalendarForm",
    "ChangeFreezeForm",
    "EndTimeField",
    "EndTimeInput",
    "LevelForm",
    "LevelFormSet",
    "MaintenanceWindowForm",
    "NewLevelFormSet",
    "PeriodForm",
    "PolicyEditor",
    "PolicyForm",
    "PolicyParts",
    "ReviewForm",
    "ThresholdForm",
    "ThresholdFormSet",
    "default_period_start",
    "hours_field_name",
    "level_formset",
    "threshold_initial",
]
