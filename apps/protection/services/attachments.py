"""Files a reporter sends with a message: size-checked, named safely, stored with a hash."""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from apps.protection.models import CaseAttachment, CaseEntry
from apps.protection.services.common import setting

DEFAULT_MAX_BYTES = 5 * 1024 * 1024


def max_bytes() -> int:
    return int(setting("PROTECTION_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def check_attachment(upload, field: str = "attachment") -> None:
    """Refuse (beside ``field``) a file that is empty or larger than the limit, before anything
    is written."""
    if upload is None:
        return
    limit = max_bytes()
    if upload.size > limit:
        raise ValidationError(
            {
                field: f"The file is {filesizeformat(upload.size)}; at most {filesizeformat(limit)} can be attached."
            }
        )
    if upload.size == 0:
        raise ValidationError({field: "The file is empty."})


def attachment_store(entry: CaseEntry, upload) -> CaseAttachment:
    """Keep ``upload`` with ``entry`` (inside the caller's transaction; checked first)."""
    check_attachment(upload)
    data = b"".join(upload.chunks())
    return CaseAttachment.objects.create(
        entry=entry,
        name=safe_name(upload.name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
    )


def safe_name(name: str) -> str:
    """The file's own name without any path, control characters or quotes, at most 200
    characters; "attachment" when nothing is left."""
    base = PurePath(str(name).replace("\\", "/")).name
    cleaned = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable() and c not in '"<>')
    return cleaned.strip(" .")[:200] or "attachment"
