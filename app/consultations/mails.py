"""The e-mails of published results, sent by the jobs worker (see app.jobs).

Each job is one mail, so a failure retries that mail only. The mail is written in the
recipient's language and links to their own line of the results.
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


def _reachable(user: User | None) -> bool:
    return user is not None and bool(user.email) and user.is_verified


@jobs.handler("answer_mail")
def answer_mail(opinion_id: int) -> None:
    opinion = db.session.get(Opinion, opinion_id)
    if opinion is None or not _reachable(opinion.author):
        return  # deleted since, or an account that cannot receive mail
    user, consultation = opinion.author, opinion.consultation
    with force_locale(user.locale or "ja"):
        send(
            build_message(
                user.email,
                _("The ward answered your opinion %(code)s", code=opinion.receipt_code),
                "answer_published",
                user=user,
                consultation=consultation,
                opinion=opinion,
                url=url_for(
                    "consultations.result_line",
                    consultation_id=consultation.id,
                    opinion_id=opinion.id,
                    _external=True,
                ),
            )
        )


@jobs.handler("results_mail")
def results_mail(user_id: int, consultation_id: int) -> None:
    user = db.session.get(User, user_id)
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or not _reachable(user):
        return
    with force_locale(user.locale or "ja"):
        send(
            build_message(
                user.email,
                _('The results of "%(title)s" are published', title=consultation.title),
                "results_published",
                user=user,
                consultation=consultation,
                url=url_for(
                    "consultations.results_page", consultation_id=consultation.id, _external=True
                ),
            )
        )
