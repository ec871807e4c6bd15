from django.apps import AppConfig


class ProbeConfig(AppConfig):
    """A deadline kind for tests and benchmarks: each firing leaves a row to count.

    Installed only by ``tests.settings``; worker processes started by tests and by
    ``bench/timers.py`` use those settings so they register the same handler.
    """

    name = "tests.probe"
    label = "probe"

    def ready(self) -> None:
        from tests.probe import handlers  # noqa: F401
