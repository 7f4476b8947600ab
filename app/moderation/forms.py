from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField, ValidationError
from wtforms.fields import SelectChoice
from wtforms.validators import Length

from app.moderation.operations import REJECT_CODES
from app.validators import NoControlCharacters, NotBlank


def _reason_choices():
    return [SelectChoice(code, label) for code, label in REJECT_CODES.items()]


class DecisionForm(FlaskForm):
    """Approve or reject one item, or several ticked in the queue."""

    code = SelectField(_l("Reason for rejecting"), validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.code.choices = _reason_choices()

    def validate_code(self, field) -> None:
        if field.data not in REJECT_CODES:
            raise ValidationError(_l("Choose a reason from the list."))


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
    )
    exception = BooleanField(_l("This is an exception: never block texts with this word"))

    def validate_severity(self, field) -> None:
        if field.data not in ("hold", "reject"):
            raise ValidationError(_l("Choose from the list."))
