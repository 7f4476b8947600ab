"""PDF attachments of a consultation: checked, stored under a random name, served as PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.audit import AuditEntry
from app.auth.models import Role
from app.consultations.attachments import safe_filename
from app.consultations.models import Attachment, Consultation, State
from app.extensions import db as _db
from tests.conftest import create_open_consultation, csrf_token, login

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def staff(app, make_user):
    user = make_user(role=Role.STAFF)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


@pytest.fixture
def consultation(db, make_user):
    return create_open_consultation(make_user(role=Role.STAFF))


def upload(
    client, consultation, data: bytes, filename="計画案（全文）.pdf", title="計画案（全文）"
):
    path = f"/consultations/{consultation.id}/attachments"
    return client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "title": title,
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def test_staff_add_a_pdf_and_residents_download_it(app, client, staff, consultation):
    response = upload(staff, consultation, PDF)
    assert response.status_code == 302
    attachment = _db.session.scalar(select(Attachment))
    assert attachment.filename == "計画案（全文）.pdf" and attachment.size == len(PDF)
    stored = Path(app.config["UPLOAD_PATH"]) / "consultations" / attachment.stored_name
    assert stored.read_bytes() == PDF and "計画" not in attachment.stored_name

    page = client.get(f"/consultations/{consultation.id}").get_data(as_text=True)
    assert "計画案（全文）</a>" in page and "PDF、1 KB" in page
    download = client.get(f"/consultations/{consultation.id}/attachments/{attachment.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    assert _db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "consultation.attachment_add")
    )

    path = f"/consultations/{consultation.id}/attachments"
    removed = staff.post(
        f"{path}/{attachment.id}/delete",
        data={"csrf_token": csrf_token(staff, path), "confirm": "yes"},
    )
    assert removed.status_code == 302
    assert not stored.exists()
    assert (
        client.get(f"/consultations/{consultation.id}/attachments/{attachment.id}").status_code
        == 404
    )


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"MZ\x90\x00 not a pdf %%EOF", "virus.pdf", "PDFではありません"),
        (b"<html><script>alert(1)</script></html>", "page.pdf", "PDFではありません"),
        (b"%PDF-1.4 but cut off", "cut.pdf", "PDFではありません"),
        (b"", "empty.pdf", "ファイルが空です"),
    ],
)
def test_what_is_not_a_pdf_is_refused(staff, consultation, data, filename, message):
    response = upload(staff, consultation, data, filename=filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _db.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_too_large_says_by_how_much(app, staff, consultation):
    app.config["ATTACHMENT_MAX_MB"] = 1
    big = PDF[:-6] + b" " * (1024 * 1024 + 300_000) + b"%%EOF\n"
    response = upload(staff, consultation, big)
    assert response.status_code == 422
    assert "1.3 MB" in response.get_data(as_text=True)
    # a file far over the limit is cut off before it is read (the error page says so)
    huge = upload(staff, consultation, b"%PDF-1.4" + b"0" * (3 * 1024 * 1024))
    assert huge.status_code == 413


def test_missing_file_and_title_are_reported(staff, consultation):
    path = f"/consultations/{consultation.id}/attachments"
    response = staff.post(path, data={"csrf_token": csrf_token(staff, path), "title": " "})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "PDFファイルを選んでください" in text


def test_only_staff_manage_and_drafts_stay_private(app, client, make_user, consultation, staff):
    assert upload(staff, consultation, PDF).status_code == 302
    attachment = _db.session.scalar(select(Attachment))
    resident = app.test_client()
    login(resident, make_user().email)
    assert resident.get(f"/consultations/{consultation.id}/attachments").status_code == 403
    path = f"/consultations/{consultation.id}/attachments/{attachment.id}"
    assert resident.post(f"{path}/delete", data={}).status_code in (400, 403)
    _db.session.get(Consultation, consultation.id).state = State.DRAFT
    _db.session.commit()
    assert client.get(path).status_code == 404
    assert staff.get(path).status_code == 200
    # an attachment is reached only through its own consultation
    other = create_open_consultation(make_user(role=Role.STAFF), title="別の意見募集")
    assert client.get(f"/consultations/{other.id}/attachments/{attachment.id}").status_code == 404


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd.pdf"),
        ("C:\\Users\\職員\\計画.PDF", "計画.pdf"),
        ("a\x00b<>:|?.pdf", "a_b_.pdf"),
        ("", "document.pdf"),
        ("...", "document.pdf"),
        ("全角（かっこ）.pdf", "全角（かっこ）.pdf"),
    ],
)
def test_download_names_are_made_safe(name, expected):
    assert safe_filename(name) == expected
