from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo organisation (``manage.py seed_demo``): above every domain app, imported by none."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo organisation"
