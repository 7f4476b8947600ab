"""The audit log as people read it: each action code and object kind in words, details as text.

The codes stay in the database (they are what a filter or an export matches on); the pages show
these words in the reader's language. A code not listed here (a new action) is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

ACTIONS = {
    "chat.hide": _l("Chat message hidden"),
    "chat.measure": _l("Chat measure changed"),
    "chat.pin": _l("Chat message pinned"),
    "consultation.answer": _l("Ward's view written"),
    "consultation.answer_edit": _l("Ward's view edited"),
    "consultation.attachment_add": _l("Attachment added"),
    "consultation.attachment_remove": _l("Attachment removed"),
    "consultation.create": _l("Consultation created"),
    "consultation.final_text": _l("Final text saved"),
    "consultation.import_opinions": _l("Opinions imported"),
    "consultation.state": _l("Consultation state changed"),
    "consultation.update": _l("Consultation edited"),
    "event.cancel": _l("Event cancelled"),
    "event.captioner_add": _l("Captioner added"),
    "event.captioner_remove": _l("Captioner removed"),
    "event.create": _l("Event created"),
    "event.publish": _l("Event published"),
    "event.recording_recovered": _l("Recording recovered"),
    "event.registrations_export": _l("Registrations exported"),
    "event.stream_interrupted": _l("Stream interrupted"),
    "event.stream_live": _l("Stream went live"),
    "event.update": _l("Event edited"),
    "form.copy": _l("Form copied"),
    "form.create": _l("Form created"),
    "form.edit": _l("Form edited"),
    "form.export": _l("Form answers exported"),
    "form.field.add": _l("Question added"),
    "form.field.edit": _l("Question edited"),
    "form.field.move": _l("Question moved"),
    "form.field.remove": _l("Question removed"),
    "form.file": _l("Attached file opened"),
    "form.group": _l("Form answers grouped"),
    "form.purge": _l("Form answers deleted"),
    "form.state": _l("Form state changed"),
    "moderation.approve": _l("Approved"),
    "moderation.edit": _l("Edited by a moderator"),
    "moderation.hidden_by_reports": _l("Hidden after reports"),
    "moderation.lift": _l("Restriction lifted"),
    "moderation.reject": _l("Rejected"),
    "moderation.word_add": _l("Blocked word added"),
    "moderation.word_remove": _l("Blocked word removed"),
    "opinion.enter": _l("Opinion entered by staff"),
    "question.themes": _l("Questions grouped"),
    "question.to_opinion": _l("Question taken as an opinion"),
    "themes.merge": _l("Themes merged"),
    "themes.move": _l("Opinion moved to another theme"),
    "themes.public": _l("Themes published"),
    "themes.rename": _l("Theme renamed"),
    "themes.run": _l("Opinions grouped"),
    "themes.split": _l("Theme split"),
    "user.change_email": _l("E-mail address changed"),
    "user.create": _l("Account created by an admin"),
    "user.delete": _l("Account deleted"),
    "user.login": _l("Logged in"),
    "user.password": _l("Password changed"),
    "user.profile": _l("Profile edited"),
    "user.register": _l("Account registered"),
    "user.set_department": _l("Department set"),
    "user.set_role": _l("Role changed"),
    "user.verify_email": _l("E-mail address confirmed"),
}

KINDS = {
    "Answer": _l("Ward's view"),
    "Attachment": _l("Attachment"),
    "CaptionLine": _l("Caption"),
    "Captioner": _l("Captioner"),
    "ChatMessage": _l("Chat message"),
    "Consultation": _l("Consultation"),
    "Event": _l("Event"),
    "FormField": _l("Question"),
    "ModerationItem": _l("Moderation item"),
    "OnlineForm": _l("Form"),
    "Opinion": _l("Opinion"),
    "Question": _l("Question"),
    "Sanction": _l("Restriction"),
    "Submission": _l("Form answer"),
    "Theme": _l("Theme"),
    "ThemeRun": _l("Grouping"),
    "User": _l("Account"),
    "BlockedWord": _l("Blocked word"),
    "TextGrouping": _l("Grouping"),
    "Registration": _l("Registration"),
    "Report": _l("Report"),
    "Section": _l("Section"),
    "Job": _l("Job"),
}


def action_label(code: str | None) -> str:
    """An action code in words: user.login → ログイン."""
    return str(ACTIONS.get(code, code or ""))


def kind_label(name: str | None) -> str:
    """A model name in words: Consultation → 意見募集."""
    return str(KINDS.get(name, name or ""))


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    # Lists and objects as JSON, with Japanese as it is written (no \u escapes).
    return json.dumps(value, ensure_ascii=False)


def details_text(details: dict[str, Any] | None) -> str:
    """The details of an entry as plain text, one ``key: value`` after another."""
    if not details:
        return ""
    return " · ".join(f"{key}: {_value(value)}" for key, value in details.items())


def init_app(app: Flask) -> None:
    app.jinja_env.filters["audit_action"] = action_label
    app.jinja_env.filters["audit_kind"] = kind_label
    app.jinja_env.filters["audit_details"] = details_text
