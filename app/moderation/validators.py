"""A form validator that puts a field through the moderation library."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import ValidationError


class Moderated:
    """Scan the field; a rejected text is refused with the library's message for its author.

    The scan result is kept on the field (``field.scan_result``) for the operation that stores
    the text, so it is recorded (held or published) without scanning twice.
    """

    def __init__(self, spam: bool = False) -> None:
        self.spam = spam

    def __call__(self, form, field) -> None:
        from app.i18n import tokyo_datetime
        from app.moderation.operations import active_sanction, scan_text

        field.scan_result = None
        if not isinstance(field.data, str) or not field.data:
            return
        author = current_user._get_current_object() if current_user.is_authenticated else None
        if author is not None:
            muted = active_sanction(author)
            if muted is not None:
                raise ValidationError(
                    _l(
                        "You cannot post until %(until)s: %(reason)s",
                        until=tokyo_datetime(muted.ends_at),
                        reason=muted.reason,
                    )
                )
        result = scan_text(field.data, author, spam=self.spam)
        field.scan_result = result
        if result.verdict == "reject":
            raise ValidationError(result.verdict.message(str(get_locale())))
