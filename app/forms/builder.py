"""Staff forms of the form builder: the form's settings and one question."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from app.consultations.forms import TokyoDateTimeField
from app.forms.models import CHOICE_KINDS, PATTERNS, PREFILL_SOURCES, FieldKind
from app.validators import MaxChars, NoControlCharacters, NotBlank, OptionalText, one_of

KINDS = {
    FieldKind.SHORT_TEXT: _l("Short text"),
    FieldKind.LONG_TEXT: _l("Long text"),
    FieldKind.NUMBER: _l("Number"),
    FieldKind.DATE: _l("Date"),
    FieldKind.SINGLE: _l("One choice (radio buttons)"),
    FieldKind.MULTIPLE: _l("Several choices (check boxes)"),
    FieldKind.DROPDOWN: _l("One choice (drop-down list)"),
    FieldKind.EMAIL: _l("E-mail address"),
    FieldKind.PHONE: _l("Phone number"),
    FieldKind.POSTAL_CODE: _l("Postal code"),
    FieldKind.CONSENT: _l("Consent (a box to tick)"),
    FieldKind.FILE: _l("File (PDF, JPEG or PNG; the maximum is in MB)"),
    FieldKind.SECTION: _l("Section heading (not a question; the text is the help text)"),
}
PREFILL_LABELS = {
    "full_name": _l("Full name"),
    "furigana": _l("Furigana"),
    "postal_code": _l("Postal code"),
    "address": _l("Address"),
    "phone": _l("Phone number"),
    "email": _l("E-mail address"),
}
PATTERN_LABELS = {
    "digits": _l("Digits only (0–9)"),
    "katakana": _l("Katakana only (カタカナ)"),
    "hiragana": _l("Hiragana only (ひらがな)"),
    "alphanumeric": _l("Letters and digits only (A–Z, 0–9)"),
}
CHOICES_MAX, CHOICE_MAX = 50, 100


class SettingsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[NotBlank(), MaxChars(200), NoControlCharacters()])
    description = TextAreaField(
        _l("Description"),
        validators=[OptionalText(), MaxChars(4000), NoControlCharacters(multiline=True)],
        render_kw={"rows": 4},
    )
    department = StringField(
        _l("Department"), validators=[OptionalText(), MaxChars(100), NoControlCharacters()]
    )
    thank_you = TextAreaField(
        _l("Thank-you text"),
        description=_l("Shown with the receipt code once the answers are sent."),
        validators=[OptionalText(), MaxChars(2000), NoControlCharacters(multiline=True)],
        render_kw={"rows": 3},
    )
    opens_at = TokyoDateTimeField(_l("Opens (Tokyo time)"), validators=[Optional()])
    closes_at = TokyoDateTimeField(_l("Closes (Tokyo time)"), validators=[Optional()])
    login_required = BooleanField(_l("Only signed-in residents may answer"), default=True)
    one_per_person = BooleanField(
        _l("One answer per person"),
        description=_l("Needs signing in: the answer is tied to the account."),
        default=True,
    )
    receipt_mail = BooleanField(
        _l("E-mail the receipt code to the person who answers"),
        description=_l("Sent to the address of their account; the answers are not in it."),
        default=True,
    )
    summary_public = BooleanField(
        _l("Publish a summary for residents"),
        description=_l(
            "Only the questions marked for it, only choices and numbers; a choice with fewer "
            "than 5 answers is not shown, and then neither is the next smallest, so that nobody "
            "can be singled out, even by subtracting."
        ),
    )
    paged = BooleanField(
        _l("One section per page"),
        description=_l(
            "Each section heading starts a page, with Next and Back; the answers are checked "
            "page by page and all together before the confirmation page."
        ),
    )
    retention_days = IntegerField(
        _l("Delete the answers this many days after closing"),
        description=_l("The answers and their files are deleted for good; empty keeps them."),
        validators=[Optional(), NumberRange(1, 3650, message=_l("Enter 1 to 3,650 days."))],
    )
    max_answers = IntegerField(
        _l("Most answers taken"),
        validators=[Optional(), NumberRange(1, 1_000_000, message=_l("Enter 1 or more."))],
    )

    def validate_retention_days(self, field) -> None:
        if field.data and not self.closes_at.data:
            raise ValidationError(_l("Set a closing time: the days count from it."))

    def validate_closes_at(self, field) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("The closing time must be after the opening time."))


class FieldForm(FlaskForm):
    kind = SelectField(
        _l("Kind of question"),
        choices=[SelectChoice(k.value, label) for k, label in KINDS.items()],
        validate_choice=False,
        validators=[one_of([k.value for k in FieldKind])],
    )
    label = StringField(
        _l("Question"), validators=[NotBlank(), MaxChars(300), NoControlCharacters()]
    )
    help = TextAreaField(
        _l("Help text"),
        validators=[OptionalText(), MaxChars(1000), NoControlCharacters(multiline=True)],
        render_kw={"rows": 2},
    )
    required = BooleanField(_l("An answer is required"))
    public = BooleanField(_l("In the residents' summary (choices and numbers)"))
    show_if = SelectField(
        _l("Ask only when"),
        description=_l(
            "An earlier question with choices; without JavaScript, the question "
            "shows with a note saying when to answer it."
        ),
        validate_choice=False,
    )
    show_if_value = StringField(
        _l("…has this answer"),
        description=_l("One of that question's choices, exactly as written."),
        validators=[OptionalText(), MaxChars(100), NoControlCharacters()],
    )
    prefill = SelectField(
        _l("Fill in from the profile"),
        description=_l(
            "The person chooses to fill it in from their profile; they can change it. A text "
            "question filled from the address is also the one a postal code question of the "
            "form fills in (“Fill in the address from this postal code”)."
        ),
        choices=[SelectChoice("", _l("No"))]
        + [SelectChoice(k, label) for k, label in PREFILL_LABELS.items()],
        validate_choice=False,
        validators=[Optional(), one_of(PREFILL_SOURCES)],
    )
    pattern = SelectField(
        _l("Characters allowed"),
        description=_l(
            "For short and long text: full-width and half-width forms both count "
            "(１２３ is digits, ｶﾅ is katakana); spaces are allowed."
        ),
        choices=[SelectChoice("", _l("Any"))]
        + [SelectChoice(k, label) for k, label in PATTERN_LABELS.items()],
        validate_choice=False,
        validators=[Optional(), one_of(PATTERNS)],
    )
    choices = TextAreaField(
        _l("Choices, one per line"),
        description=_l("For the kinds with choices: 2 to 50, each up to 100 characters."),
        validators=[OptionalText(), NoControlCharacters(multiline=True)],
        render_kw={"rows": 5},
    )
    minimum = IntegerField(
        _l("Minimum"),
        description=_l("Characters for a text, the smallest value for a number."),
        validators=[Optional(), NumberRange(-1_000_000_000, 1_000_000_000)],
    )
    maximum = IntegerField(
        _l("Maximum"),
        description=_l("Characters for a text, the largest value for a number."),
        validators=[Optional(), NumberRange(-1_000_000_000, 1_000_000_000)],
    )

    def __init__(self, *args, earlier=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.earlier = {str(f.id): f for f in earlier if f.kind in CHOICE_KINDS}
        self.show_if.choices = [SelectChoice("", _l("Always"))] + [
            SelectChoice(key, f.label) for key, f in self.earlier.items()
        ]
        self.show_if.validators = [Optional(), one_of(list(self.earlier))]

    def validate_show_if_value(self, field) -> None:
        question = self.earlier.get(self.show_if.data or "")
        if question is not None and field.data not in question.choices:
            raise ValidationError(_l("Write one of the choices of that question."))

    def choice_list(self) -> list[str]:
        lines = [" ".join(line.split()) for line in (self.choices.data or "").splitlines()]
        return list(dict.fromkeys(line for line in lines if line))

    def validate_choices(self, field) -> None:
        if self.kind.data not in {k.value for k in CHOICE_KINDS}:
            return
        choices = self.choice_list()
        if not 2 <= len(choices) <= CHOICES_MAX:
            raise ValidationError(_l("Give 2 to 50 choices, one per line."))
        if any(len(c) > CHOICE_MAX for c in choices):
            raise ValidationError(_l("Each choice may have at most 100 characters."))

    def validate_maximum(self, field) -> None:
        low, high = self.minimum.data, field.data
        if low is not None and high is not None and high < low:
            raise ValidationError(_l("The maximum must not be below the minimum."))
        if self.kind.data == FieldKind.FILE and high is not None and not 1 <= high <= 20:
            raise ValidationError(_l("A file may be 1 to 20 MB."))
        texts = (FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT)
        if self.kind.data in texts and high is not None and not 1 <= high <= 4000:
            raise ValidationError(_l("A text may have 1 to 4,000 characters."))


class AnswerFilterForm(FlaskForm):
    """Filters over a form's answers (a GET form: links to a filtered page can be shared)."""

    class Meta:
        csrf = False

    answer = SelectField(_l("With the answer"), validate_choice=False)
    since = DateField(_l("Received from"), validators=[Optional()])
    until = DateField(_l("Received until"), validators=[Optional()])
    code = StringField(
        _l("Receipt code"), validators=[OptionalText(), MaxChars(20), NoControlCharacters()]
    )

    def __init__(self, *args, questions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.options = {
            f"{q.id}:{n}": (q, choice)
            for q in questions
            if q.kind in CHOICE_KINDS
            for n, choice in enumerate(q.choices)
        }
        self.answer.choices = [SelectChoice("", _l("Any"))] + [
            SelectChoice(value, f"{q.label}: {choice}")
            for value, (q, choice) in self.options.items()
        ]
        self.answer.validators = [Optional(), one_of(list(self.options))]

    def validate_until(self, field) -> None:
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_l("The last day must not be before the first."))
