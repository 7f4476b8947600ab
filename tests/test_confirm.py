"""Irreversible actions ask first: the first POST shows what will happen, with a confirm
button (POST, CSRF, the first POST's fields) and a cancel link; only the confirmed POST acts.
Plain HTML forms, so it works without JavaScript."""

from __future__ import annotations

import html
import io
import re

from sqlalchemy import select

from app.auth.models import Role
from app.consultations.models import Attachment, Consultation, Opinion, State
from app.events.models import Registration, RegistrationStatus
from app.extensions import db as _db
from app.forms.models import FormField
from app.moderation.models import BlockedWord
from tests.conftest import create_open_consultation, csrf_token, login, post_form
from tests.test_events import create as create_event
from tests.test_events import register
from tests.test_results import answer, close, send
from tests.test_results import staff_client as logged_in_staff

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def confirmation(response, action: str) -> tuple[dict, str]:
    """The confirmation page's form fields (hidden inputs) and its cancel link; asserts the
    page is a confirmation of ``action`` and not an action already done."""
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form and form.group(1) == action, page[-3000:]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))
    assert fields["confirm"] == "yes" and fields["csrf_token"]
    cancel = re.search(r'<a class="button secondary" href="([^"]+)">', form[2])
    assert cancel, form[2]
    return {k: html.unescape(v) for k, v in fields.items()}, html.unescape(cancel.group(1))


def main_text(response) -> str:
    page = response.get_data(as_text=True)
    return re.sub(r"<[^>]+>", "", page.split("<main", 1)[1])


def test_withdrawing_an_opinion_asks_first(app, db, client, make_user):
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    author = make_user()
    opinion = send(consultation, author, "公園のベンチを増やしてください。")
    code, opinion_id = opinion.receipt_code, opinion.id
    login(client, author.email)
    path = f"/consultations/opinions/{opinion_id}/withdraw"
    asked = post_form(client, path, {}, page=f"/consultations/receipts/{code}")
    fields, cancel = confirmation(asked, path)
    assert "意見を取り下げますか" in main_text(asked) and code in main_text(asked)
    assert cancel == f"/consultations/receipts/{code}" and client.get(cancel).status_code == 200
    _db.session.expire_all()
    assert _db.session.get(Opinion, opinion_id).withdrawn_at is None  # nothing yet
    # the confirm button needs its token like any state change
    assert client.post(path, data={"confirm": "yes"}).status_code == 400
    assert client.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Opinion, opinion_id).withdrawn_at is not None


def test_closing_early_carries_the_chosen_state_through_the_confirmation(
    app, db, client, make_user
):
    staff = make_user(role=Role.STAFF)
    consultation = create_open_consultation(staff)
    login(client, staff.email)
    path = f"/consultations/{consultation.id}/state"
    asked = post_form(client, path, {"state": "closed"}, page=f"/consultations/{consultation.id}")
    fields, cancel = confirmation(asked, path)
    assert fields["state"] == "closed" and "締め切" in main_text(asked)
    assert cancel == f"/consultations/{consultation.id}"
    _db.session.expire_all()
    assert _db.session.get(Consultation, consultation.id).current_state() == State.OPEN
    assert client.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Consultation, consultation.id).current_state() == State.CLOSED


def test_publishing_results_asks_first_and_says_who_is_told(app, db, make_user, mailbox):
    consultation = create_open_consultation(make_user(role=Role.STAFF))
    opinion = send(consultation, make_user(), "賛成です。")
    close(consultation)
    staff, _ = logged_in_staff(app, make_user)
    assert answer(staff, consultation, [opinion.id]).status_code == 302
    path = f"/consultations/{consultation.id}/publish"
    review = f"/consultations/{consultation.id}/review"
    asked = post_form(staff, path, {}, page=review)
    fields, cancel = confirmation(asked, path)
    text = main_text(asked)
    assert "結果を公表しますか" in text and "1 件の意見" in text and "取り消" in text
    assert cancel == review
    _db.session.expire_all()
    assert _db.session.get(Consultation, consultation.id).state == State.CLOSED
    assert staff.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Consultation, consultation.id).state == State.PUBLISHED


def test_deleting_a_pdf_asks_first(app, db, make_user):
    staff_user = make_user(role=Role.STAFF)
    consultation = create_open_consultation(staff_user)
    staff = app.test_client()
    login(staff, staff_user.email)
    manage = f"/consultations/{consultation.id}/attachments"
    staff.post(
        manage,
        data={
            "csrf_token": csrf_token(staff, manage),
            "title": "計画案（全文）",
            "file": (io.BytesIO(PDF), "plan.pdf"),
        },
        content_type="multipart/form-data",
    )
    attachment_id = _db.session.scalar(select(Attachment.id))
    path = f"{manage}/{attachment_id}/delete"
    asked = post_form(staff, path, {}, page=manage)
    fields, cancel = confirmation(asked, path)
    assert "計画案（全文）" in main_text(asked) and "plan.pdf" in main_text(asked)
    assert cancel == manage
    assert _db.session.get(Attachment, attachment_id) is not None
    assert staff.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(Attachment, attachment_id) is None


def test_cancelling_a_registration_asks_first(app, db, make_user):
    staff_user = make_user(role=Role.STAFF)
    staff = app.test_client()
    login(staff, staff_user.email)
    event = create_event(staff)
    resident = make_user()
    client = app.test_client()
    login(client, resident.email)
    assert register(client, event).status_code == 302
    path = f"/events/{event.id}/unregister"
    asked = post_form(client, path, {}, page=f"/events/{event.id}")
    fields, cancel = confirmation(asked, path)
    assert event.title in main_text(asked) and cancel == f"/events/{event.id}"
    registration = _db.session.scalar(select(Registration))
    assert registration.status == RegistrationStatus.CONFIRMED
    assert client.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.scalar(select(Registration)).status == RegistrationStatus.CANCELLED


def test_removing_a_blocked_word_and_a_question_ask_first(app, db, client, logged_in):
    logged_in(Role.STAFF)
    word_id = _db.session.scalar(select(BlockedWord.id).where(BlockedWord.exception.is_(False)))
    path = f"/moderation/words/{word_id}/delete"
    fields, _cancel = confirmation(post_form(client, path, {}, page="/moderation/words"), path)
    assert _db.session.get(BlockedWord, word_id) is not None
    assert client.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(BlockedWord, word_id) is None

    made = post_form(client, "/forms/new", {"title": "アンケート"}, page="/forms/new")
    form_id = int(re.search(r"/forms/(\d+)/edit", made.headers["Location"]).group(1))
    page = f"/forms/{form_id}/questions/new"
    post_form(client, page, {"kind": "short_text", "label": "お名前"}, page=page)
    field_id = _db.session.scalar(select(FormField.id).where(FormField.form_id == form_id))
    path = f"/forms/{form_id}/questions/{field_id}/delete"
    asked = post_form(client, path, {}, page=f"/forms/{form_id}/edit")
    fields, cancel = confirmation(asked, path)
    assert "「お名前」" in main_text(asked) and cancel == f"/forms/{form_id}/edit"
    assert _db.session.get(FormField, field_id) is not None
    assert client.post(path, data=fields).status_code == 302
    _db.session.expire_all()
    assert _db.session.get(FormField, field_id) is None


def test_the_confirmation_page_escapes_what_it_repeats(app, db, make_user):
    staff_user = make_user(role=Role.STAFF)
    consultation = create_open_consultation(staff_user)
    staff = app.test_client()
    login(staff, staff_user.email)
    path = f"/consultations/{consultation.id}/state"
    naughty = '"><script>alert(1)</script>'
    page = post_form(staff, path, {"state": "closed", "note": naughty}, page="/")
    body = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    fields, _cancel = confirmation(page, path)
    assert fields["note"] == naughty
