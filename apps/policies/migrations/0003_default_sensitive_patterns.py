"""The sensitive-content patterns every installation starts with (governance admins change them)."""

from django.db import migrations


def add_defaults(apps, schema_editor):
    from apps.policies.content import DEFAULT_PATTERNS

    SensitivePattern = apps.get_model("policies", "SensitivePattern")
    for name, pattern in DEFAULT_PATTERNS:
        SensitivePattern.objects.get_or_create(name=name, defaults={"pattern": pattern})


class Migration(migrations.Migration):
    dependencies = [("policies", "0002_sensitive_patterns")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
