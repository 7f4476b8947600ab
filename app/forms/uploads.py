"""Files sent with a form's answers: PDF, JPEG or PNG, checked by their content, kept under a
generated name outside the web root (``UPLOAD_PATH/forms``), downloaded by staff only.

A file is saved when the form is checked (so the person does not send it again after fixing
another answer, or from the confirmation page); the page carries a signed note of it, and the
answer keeps its generated name, the person's file name, type and size."""

from __future__ import annotations

import secrets
import unicodedata
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import FileStorage

from app.consultations.attachments import _UNSAFE_NAME

SIGNATURES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}
DEFAULT_MB = 5


class BadFile(Exception):
    def __init__(self, reason: str, size: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.size = reason, size


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_PATH"]) / "forms"
    path.mkdir(parents=True, exist_ok=True)
    return path


def limit_mb(maximum: int | None) -> int:
    """A question's cap in MB: its own, within the site's FORM_UPLOAD_MAX_MB."""
    site = current_app.config["FORM_UPLOAD_MAX_MB"]
    return max(1, min(maximum or DEFAULT_MB, site))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="form-upload")


def save(upload: FileStorage, maximum: int | None, user_id: int | None) -> dict:
    """Check and keep an uploaded file; return its record (what the answer stores)."""
    cap = limit_mb(maximum) * 1024 * 1024
    data = upload.stream.read(cap + 1)
    if not data:
        raise BadFile("empty")
    if len(data) > cap:
        raise BadFile("large", len(data))
    kind = next((v for magic, v in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is None:
        raise BadFile("type")
    mime, extension = kind
    stored = secrets.token_hex(16)
    (folder() / stored).write_bytes(data)
    name = unicodedata.normalize("NFC", upload.filename or "")
    name = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._")
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return {
        "file": stored,
        "name": f"{stem[:120] or 'file'}.{extension}",
        "type": mime,
        "size": len(data),
        "by": user_id,
    }


def sign(record: dict) -> str:
    return _serializer().dumps(record)


def unsign(token: str, user_id: int | None) -> dict | None:
    """The record a page carried, if this app signed it for this person; else None."""
    try:
        record = _serializer().loads(token)
    except BadSignature:
        return None
    if not isinstance(record, dict) or record.get("by") != user_id:
        return None
    return record if (folder() / str(record.get("file", ""))).is_file() else None


def path_of(record: dict) -> Path | None:
    stored = str(record.get("file", ""))
    if not stored.isalnum():
        return None
    path = folder() / stored
    return path if path.is_file() else None


ORPHAN_AFTER = 24 * 3600  # seconds: a file no answer took by then (a form never sent) goes


def remove(record: dict) -> None:
    path = path_of(record)
    if path is not None:
        path.unlink(missing_ok=True)


def remove_orphans(referenced: set[str], now: float) -> int:
    """Delete kept files no answer refers to, older than ORPHAN_AFTER; return how many."""
    removed = 0
    for path in folder().iterdir():
        if path.name in referenced or now - path.stat().st_mtime < ORPHAN_AFTER:
            continue
        path.unlink(missing_ok=True)
        removed += 1
    return removed
