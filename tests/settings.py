"""Test settings: the real settings, plus what only tests need.

``TEST_DATABASE=postgres`` makes the suite run on a throwaway PostgreSQL server that
``tests/servers.py`` starts; the connection details are filled in by ``tests/conftest.py``.
"""

import os

os.environ.setdefault("ESCALPORTAL_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "var", "test"))

from escalportal.settings import *  # noqa: E402,F403
from escalportal.settings import INSTALLED_APPS  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.probe"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# In memory, unless a test gives its worker processes a real SMTP server (EMAIL_HOST).
if not os.environ.get("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEMO_DATA_ALLOWED = True
AXES_ENABLED = os.environ.get("AXES_ENABLED", "0") == "1"
# The suite signs auditors, HR officers and governance admins in with Client.force_login, which
# gives no second factor; required two-factor sign-in would send every one of those requests to
# enrolment. Tests of two-factor sign-in turn it on for themselves (tests/accounts/test_two_factor*).
OTP_REQUIRED_ROLES = []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": EXPORT_DIR}},  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Worker processes started by tests open the test database, so on SQLite it is a file (named
# per run: several runs may share a checkout). TEST_DATABASE=postgres replaces all of this
# (tests/plugins/services.py).
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(VAR_DIR, f"test-{os.getpid()}.sqlite3")}  # noqa: F405
