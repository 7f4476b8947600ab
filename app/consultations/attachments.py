"""PDF attachments of a consultation: checked, stored under a random name, served as PDF.

The file goes to ``KOE_UPLOAD_PATH`` (default ``instance/uploads``) under a random name; the
database keeps the name it is downloaded under, its size and its SHA-256. Operations never
commit; the caller removes the file of a deleted attachment after committing.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from app import audit
from app.auth.models import User
from app.consultations.models import Attachment, Consultation
from app.extensions import db

PDF_MAGIC = re.compile(rb"^%PDF-[12]\.\d")
# controls (C0, C1), bidirectional overrides that can disguise an extension, and what file
# systems reserve
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\\/:*?"<>|]+')


class BadFile(Exception):
    """The upload is not a PDF we keep; ``code`` says why (empty, too_large, not_pdf)."""

    def __init__(self, code: str, size: int = 0) -> None:
        super().__init__(code)
        self.code, self.size = code, size


def max_bytes() -> int:
    return current_app.config["ATTACHMENT_MAX_MB"] * 1024 * 1024


def folder() -> Path:
    path = Path(current_app.config["UPLOAD_PATH"]) / "consultations"
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_filename(name: str | None) -> str:
    """A download name that keeps Japanese but no path, control or reserved characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE_NAME.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" ._")
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    return f"{stem[:150] or 'document'}.pdf"


def read_pdf(upload: FileStorage) -> bytes:
    """The bytes of an uploaded PDF, or BadFile: empty, over the limit or not a PDF."""
    limit = max_bytes()
    data = upload.stream.read(limit + 1)
    if not data:
        raise BadFile("empty")
    if len(data) > limit:
        upload.stream.seek(0, os.SEEK_END)
        raise BadFile("too_large", upload.stream.tell())
    # a PDF starts with its header and ends with %%EOF (allowing trailing whitespace)
    if not PDF_MAGIC.match(data) or b"%%EOF" not in data[-1024:]:
        raise BadFile("not_pdf")
    return data


def add(consultation: Consultation, staff: User, title: str, upload: FileStorage) -> Attachment:
    data = read_pdf(upload)
    stored_name = f"{secrets.token_hex(16)}.pdf"
    path = folder() / stored_name
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)  # whole or not at all
    attachment = Attachment(
        title=title,
        filename=safe_filename(upload.filename),
        stored_name=stored_name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by_id=staff.id,
    )
    try:
        consultation.attachments.append(attachment)
        db.session.flush()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    audit.record(
        "consultation.attachment_add",
        consultation,
        actor=staff,
        details={"attachment": attachment.id, "size": attachment.size},
    )
    return attachment


def remove(attachment: Attachment, staff: User) -> Path:
    """Delete the attachment's record; return its file for the caller to delete after commit."""
    consultation = db.session.get(Consultation, attachment.consultation_id)
    consultation.attachments.remove(attachment)
    audit.record(
        "consultation.attachment_remove",
        consultation,
        actor=staff,
        details={"attachment": attachment.id},
    )
    return path_of(attachment)


def path_of(attachment: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_PATH"]) / "consultations" / attachment.stored_name
