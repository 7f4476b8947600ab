"""The receipt of a form's answers, e-mailed by the jobs worker (committed with the answers)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from app import jobs
from app.consultations.mails import send_to
from app.extensions import db
from app.forms.models import Submission


@jobs.handler("form_receipt_mail")
def form_receipt_mail(submission_id: int, locale: str | None = None) -> None:
    """The receipt code and a link to it, never the answers (they may be personal)."""
    submission = db.session.get(Submission, submission_id)
    if submission is None:
        return
    send_to(
        submission.user,
        lambda: _("Your answers were received: %(code)s", code=submission.receipt_code),
        "form_receipt",
        locale,
        submission=submission,
        url=url_for("forms.receipt", code=submission.receipt_code, _external=True),
    )
