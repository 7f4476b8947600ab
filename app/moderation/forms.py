from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Length

from app.moderation.operations import REJECT_CODES, REPORT_REASONS, SANCTION_DAYS
from app.validators import NoControlCharacters, NotBlank, one_of


class DecisionForm(FlaskForm):
    """Approve or reject one item, or several ticked in the queue."""

    code = SelectField(
        _l("Reason for rejecting"),
        choices=[SelectChoice(code, label) for code, label in REJECT_CODES.items()],
        validate_choice=False,
        validators=[one_of(REJECT_CODES, _l("Choose a reason from the list."))],
    )


class PublicCopyForm(FlaskForm):
    public_text = TextAreaField(
        _l("Public copy"),
        description=_l("What others see. Personal data you leave in it is masked again."),
        validators=[
            NotBlank(_l("Enter the public copy.")),
            Length(max=20000, message=_l("Use at most %(max)d characters.")),
            NoControlCharacters(multiline=True),
        ],
        render_kw={"rows": 6},
    )


class WordForm(FlaskForm):
    word = StringField(
        _l("Word or phrase"),
        description=_l(
            "Width, katakana or hiragana, spaces and punctuation do not matter when matching."
        ),
        validators=[
            NotBlank(_l("Enter a word.")),
            Length(max=100, message=_l("Use at most %(max)d characters.")),
            NoControlCharacters(),
        ],
    )
    severity = SelectField(
        _l("What happens"),
        choices=[
            SelectChoice("hold", _l("Hold for a moderator")),
            SelectChoice("reject", _l("Refuse and ask the author to rewrite")),
        ],
        validate_choice=False,
        validators=[one_of(("hold", "reject"))],
    )
    exception = BooleanField(_l("This is an exception: never block texts with this word"))


class ReportForm(FlaskForm):
    reason = SelectField(
        _l("Why do you report it?"),
        choices=[SelectChoice(code, label) for code, label in REPORT_REASONS.items()],
        validate_choice=False,
        validators=[one_of(REPORT_REASONS)],
    )


class SanctionForm(FlaskForm):
    kind = SelectField(
        _l("Sanction"),
        choices=[
            SelectChoice("mute", _l("Mute: may read, may not post")),
            SelectChoice("ban", _l("Ban: may not log in")),
        ],
        validate_choice=False,
        validators=[one_of(("mute", "ban"))],
    )
    days = SelectField(
        _l("For"),
        choices=[SelectChoice(str(d), _l("%(n)d days", n=d)) for d in SANCTION_DAYS],
        validate_choice=False,
        validators=[one_of(str(d) for d in SANCTION_DAYS)],
    )
    reason = TextAreaField(
        _l("Reason (sent to the user)"),
        validators=[
            NotBlank(_l("Enter the reason.")),
            Length(max=2000, message=_l("Use at most %(max)d characters.")),
            NoControlCharacters(multiline=True),
        ],
        render_kw={"rows": 3},
    )
