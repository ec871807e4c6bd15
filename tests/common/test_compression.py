"""Compressed responses (issue 13, item 5): HTML gzipped by GZipMiddleware when the browser
asks for it, static files collected with a brotli (.br) copy beside each one by WhiteNoise.
Why gzip is safe behind CSRF and BREACH: README.md, "Deployment"."""

from __future__ import annotations

import gzip

import brotli
import pytest
from django.core.management import call_command
from django.urls import reverse


def test_a_page_is_gzipped_when_the_browser_asks_and_only_then(client, auditor):
    client.force_login(auditor)
    plain = client.get(reverse("home"))
    assert plain.status_code == 200 and "Content-Encoding" not in plain
    zipped = client.get(reverse("home"), headers={"accept-encoding": "gzip, deflate, br"})
    assert zipped["Content-Encoding"] == "gzip" and "Accept-Encoding" in zipped["Vary"]
    html = gzip.decompress(zipped.content).decode()
    assert "<html" in html and len(zipped.content) < len(plain.content)


@pytest.mark.django_db
def test_collected_static_files_have_a_brotli_copy(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    css = [p for p in settings.STATIC_ROOT.rglob("*.css") if p.suffixes[-1] == ".css"]
    assert css
    for path in css:
        copy = path.with_name(path.name + ".br")
        assert copy.exists(), f"no brotli copy of {path.name}"
        assert brotli.decompress(copy.read_bytes()) == path.read_bytes()
