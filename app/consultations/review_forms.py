"""Staff forms for after closing: the ward's view, dispositions and the final text."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from app.consultations.models import Disposition
from app.validators import MaxChars, NoControlCharacters, NotBlank, OptionalText, one_of

ANSWER_MAX = 8000
SUMMARY_MAX = 4000
REASON_MAX = 2000
FINAL_MAX = 20000

DISPOSITIONS = {
    Disposition.REFLECTED: _l("Reflected"),
    Disposition.PARTLY: _l("Partly reflected"),
    Disposition.INCLUDED: _l("Already included"),
    Disposition.FUTURE: _l("For future reference"),
    Disposition.NOT_REFLECTED: _l("Not reflected"),
    Disposition.OUT_OF_SCOPE: _l("Out of scope"),
}

NEW_ANSWER = "new"


class SelectedOpinions(SelectMultipleField):
    """The opinion ids ticked on the page; ownership is checked by the operation."""

    tampered = False

    def pre_validate(self, form) -> None:
        if not self.data or self.tampered:
            raise StopValidation(_l("Tick at least one opinion."))

    def process_formdata(self, valuelist) -> None:
        # ids as the URL converter takes them (ASCII digits within the key range); anything
        # else is not an opinion of this page, and the operation refuses the rest
        self.data = [
            int(value)
            for value in valuelist[:500]
            if value.isascii() and value.isdigit() and len(value) < 10
        ]
        self.tampered = len(self.data) != len(valuelist[:500])


class AnswerOpinionsForm(FlaskForm):
    opinions = SelectedOpinions(_l("Opinions"), coerce=int, validate_choice=False)
    answer = SelectField(
        _l("The ward's view"),
        description=_l("Write a new view below, or give the ticked opinions one already written."),
    )
    summary = TextAreaField(
        _l("Summary of the opinions"),
        validators=[OptionalText(), MaxChars(SUMMARY_MAX), NoControlCharacters(multiline=True)],
        description=_l(
            "For a group of opinions: what they say, in a few lines. It is published in place "
            "of each opinion's full text being repeated."
        ),
        render_kw={"rows": 3},
    )
    body = TextAreaField(
        _l("New view of the ward"),
        validators=[OptionalText(), MaxChars(ANSWER_MAX), NoControlCharacters(multiline=True)],
        description=_l("Required when you choose “A new view” above."),
        render_kw={"rows": 6},
    )
    disposition = SelectField(
        _l("Disposition"),
        choices=[SelectChoice(d.value, label) for d, label in DISPOSITIONS.items()],
        validate_choice=False,
        validators=[one_of([d.value for d in Disposition])],
    )
    reason = TextAreaField(
        _l("Reason for the disposition"),
        validators=[
            NotBlank(_l("Enter the reason for the disposition.")),
            MaxChars(REASON_MAX),
            NoControlCharacters(multiline=True),
        ],
        render_kw={"rows": 3},
    )

    def __init__(self, *args, answers=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.answer.choices = [SelectChoice(NEW_ANSWER, _l("A new view (write it below)"))] + [
            SelectChoice(str(a.id), f"No. {a.number}: {a.body[:40]}") for a in answers
        ]
        self.answer.validate_choice = False
        self.answer.validators = [one_of([NEW_ANSWER, *(str(a.id) for a in answers)])]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # OptionalText stops the body's own chain when it is empty, so this check lives here
        if self.answer.data == NEW_ANSWER and not self.body.data and not self.body.errors:
            self.body.errors = [_l("Write the ward's view, or choose one already written.")]
            valid = False
        return valid


class EditAnswerForm(FlaskForm):
    summary = TextAreaField(
        _l("Summary of the opinions"),
        validators=[OptionalText(), MaxChars(SUMMARY_MAX), NoControlCharacters(multiline=True)],
        render_kw={"rows": 3},
    )
    body = TextAreaField(
        _l("The ward's view"),
        validators=[
            NotBlank(_l("Write the ward's view.")),
            MaxChars(ANSWER_MAX),
            NoControlCharacters(multiline=True),
        ],
        render_kw={"rows": 8},
    )


class FinalTextForm(FlaskForm):
    """One text area per section of the draft, in order."""

    sections = FieldList(
        TextAreaField(
            validators=[MaxChars(FINAL_MAX), NoControlCharacters(multiline=True)],
            render_kw={"rows": 8},
        )
    )

    def validate_sections(self, field) -> None:
        # an empty final section is allowed (the section is deleted); the count must match
        if len(field.entries) != getattr(self, "expected", len(field.entries)):
            raise ValidationError(_l("The draft changed; please reload the page."))
