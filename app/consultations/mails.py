"""The e-mails about opinions, sent by the jobs worker (see app.jobs).

Each job is one mail, committed with what caused it (the opinion, the publication), so none is
lost and the request does not wait for the mail server; a failure retries that mail only. The
mail is written in the recipient's language and links to their own receipt or results line.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from app import jobs
from app.auth.models import User
from app.consultations.models import Consultation, Opinion
from app.extensions import db
from app.mail import build_message, send


def send_to(
    user: User | None,
    subject,
    template: str,
    locale: str | None = None,
    *,
    attachments=(),
    **context,
) -> None:
    """Send ``template`` to ``user`` in ``locale`` (else their account's language); ``subject``
    is called in it too, and so is each of ``attachments`` (a function returning the
    ``(filename, bytes, type)`` of build_message). Nobody is mailed whose account is gone or
    whose address is unconfirmed.
    """
    if user is None or not user.email or not user.is_verified:
        return
    with force_locale(locale or user.locale or "ja"):
        files = [make() for make in attachments]
        send(
            build_message(user.email, subject(), template, attachments=files, user=user, **context)
        )


@jobs.handler("receipt_mail")
def receipt_mail(opinion_id: int, locale: str | None = None) -> None:
    """The receipt, in the language of the page the opinion was sent from."""
    opinion = db.session.get(Opinion, opinion_id)
    if opinion is None:
        return
    send_to(
        opinion.author,
        lambda: _("Your opinion was received: %(code)s", code=opinion.receipt_code),
        "opinion_receipt",
        locale,
        opinion=opinion,
        url=url_for("consultations.receipt", code=opinion.receipt_code, _external=True),
    )


@jobs.handler("answer_mail")
def answer_mail(opinion_id: int) -> None:
    opinion = db.session.get(Opinion, opinion_id)
    if opinion is None:
        return
    consultation = opinion.consultation
    send_to(
        opinion.author,
        lambda: _("The ward answered your opinion %(code)s", code=opinion.receipt_code),
        "answer_published",
        consultation=consultation,
        opinion=opinion,
        url=url_for(
            "consultations.result_line",
            consultation_id=consultation.id,
            opinion_id=opinion.id,
            _external=True,
        ),
    )


@jobs.handler("results_mail")
def results_mail(user_id: int, consultation_id: int) -> None:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        return
    send_to(
        db.session.get(User, user_id),
        lambda: _('The results of "%(title)s" are published', title=consultation.title),
        "results_published",
        consultation=consultation,
        url=url_for("consultations.results_page", consultation_id=consultation.id, _external=True),
    )
