"""Outgoing mail: SMTP when ``KOE_MAIL_SERVER`` is set, else the dev outbox admins can read."""

from __future__ import annotations

import smtplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.timeutil import utcnow


class OutboxMessage(db.Model):
    """A message kept locally because no SMTP server is configured (development only)."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)


def build_message(
    to: str, subject: str, template: str, *, attachments=(), **context
) -> EmailMessage:
    """Render ``templates/mail/<template>.txt`` into a UTF-8 plain-text message whose subject
    carries Koe's mark (【声】, [Koe]) so every mail from the ward is recognised alike;
    ``attachments``: ``(filename, bytes, "type/subtype")`` each (a calendar file)."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = to
    msg["Subject"] = _("[Koe] %(subject)s", subject=subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="koe.local")
    msg.set_content(render_template(f"mail/{template}.txt", **context))
    for filename, content, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        if maintype == "text":  # as text with its charset (UTF-8), so clients read Japanese
            msg.add_attachment(content.decode(), subtype=subtype, filename=filename)
        else:
            msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def outbox_text(msg: EmailMessage) -> str:
    """The text an admin reads in the outbox: the plain-text body, then one line per attachment.

    A mail with an attachment is ``multipart/mixed``, which has no content of its own: its
    text is the plain part (``get_content`` of the whole message fails on it).
    """
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    files = [
        f"[{part.get_filename() or '-'} ({part.get_content_type()})]"
        for part in msg.iter_attachments()
    ]
    if not files:
        return text
    return text.rstrip("\n") + "\n\n" + "\n".join(files) + "\n"


def send(msg: EmailMessage) -> None:
    """Deliver ``msg``; call after the transaction that caused it has committed."""
    cfg = current_app.config
    if cfg["MAIL_BACKEND"] == "outbox":
        db.session.add(
            OutboxMessage(recipient=msg["To"], subject=msg["Subject"], body=outbox_text(msg))
        )
        db.session.commit()
        return
    smtp_cls = smtplib.SMTP_SSL if cfg["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_cls(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        smtp.send_message(msg)


def send_template(to: str, subject: str, template: str, **context) -> None:
    """Render and deliver a mail; failures are logged without the address and not raised."""
    try:
        send(build_message(to, subject, template, **context))
    except (OSError, smtplib.SMTPException) as exc:
        # Not the exception text: SMTP errors quote the recipient's address.
        current_app.logger.error(
            "mail delivery failed (template %s): %s", template, type(exc).__name__
        )
