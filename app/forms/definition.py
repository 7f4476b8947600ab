"""A form's definition made into a WTForms form for residents: every rule of every field is
checked on the server, with its message in the user's language; what is stored is a plain value
per field (text, number, ISO date, choice, list of choices, or true for a consent)."""

from __future__ import annotations

import re
from datetime import date

import phonenumbers
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import postal, uploads
from app.forms.models import FieldKind, FormField, OnlineForm
from app.validators import MaxChars, NoControlCharacters, NotBlank, OptionalText, nfkc_strip

SHORT_MAX, LONG_MAX = 200, 4000


class MinChars:
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form, field) -> None:
        if field.data and len(field.data.strip()) < self.limit:
            raise ValidationError(_("Use at least %(min)d characters.", min=self.limit))


class Phone:
    """A Japanese (or international, with +) phone number, kept as the person typed it."""

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        text = nfkc_strip(field.data)
        try:
            number = phonenumbers.parse(text, "JP")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_possible_number(number):
            raise ValidationError(_("Enter a phone number like 03-1234-5678."))
        field.data = text


class PostalCode:
    def __call__(self, form, field) -> None:
        if not field.data:
            return
        code = postal.normalise(field.data)
        if code is None:
            raise ValidationError(_("Enter a postal code like 123-4567."))
        field.data = code


class Choices:
    """Only the form's own choices (a tampered value is refused, never stored)."""

    def __init__(self, choices: list[str]) -> None:
        self.choices = set(choices)

    def __call__(self, form, field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(v not in self.choices for v in values if v not in (None, "")):
            raise StopValidation(_("Choose from the list."))


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _required(field: FormField):
    return NotBlank(_l("Enter %(field)s.", field=field.label)) if field.required else OptionalText()


class Pattern:
    """Only the characters the question allows, after NFKC (full-width digits are digits,
    half-width katakana is katakana); spaces are allowed between words. Staff choose from
    these rules rather than write a regular expression: no rule can be slow or wrong."""

    RULES = {
        "digits": (re.compile(r"[0-9]+"), _l("Use digits only (0–9).")),
        "katakana": (
            re.compile(r"[\u30a1-\u30fa\u30fc\u30fb ]+"),
            _l("Use katakana only (カタカナ)."),
        ),
        "hiragana": (
            re.compile(r"[\u3041-\u3096\u30fc ]+"),
            _l("Use hiragana only (ひらがな)."),
        ),
        "alphanumeric": (
            re.compile(r"[A-Za-z0-9]+"),
            _l("Use only the letters A–Z and digits 0–9."),
        ),
    }

    def __init__(self, rule: str) -> None:
        self.allowed, self.message = self.RULES[rule]

    def __call__(self, form, field) -> None:
        if not field.data or not field.data.strip():
            return
        text = " ".join(nfkc_strip(field.data).split())
        if not self.allowed.fullmatch(text):
            raise ValidationError(self.message)


def _text_field(field: FormField, multiline: bool, default_max: int):
    validators = [_required(field), MaxChars(field.maximum or default_max)]
    if field.minimum:
        validators.append(MinChars(field.minimum))
    validators.append(NoControlCharacters(multiline=multiline))
    if field.pattern in Pattern.RULES:
        validators.append(Pattern(field.pattern))
    cls = TextAreaField if multiline else StringField
    return cls(field.label, validators=validators, description=field.help)


def wtforms_field(field: FormField):
    """The WTForms field that asks ``field``."""
    kind, label, help_ = field.kind, field.label, field.help
    needed = InputRequired(_l("Answer %(field)s.", field=label)) if field.required else Optional()
    if kind == FieldKind.SHORT_TEXT:
        return _text_field(field, False, SHORT_MAX)
    if kind == FieldKind.LONG_TEXT:
        return _text_field(field, True, LONG_MAX)
    if kind == FieldKind.NUMBER:
        bounds = NumberRange(
            field.minimum,
            field.maximum,
            message=_l("Enter a number from %(min)s to %(max)s.")
            if field.minimum is not None and field.maximum is not None
            else None,
        )
        return IntegerField(label, validators=[needed, bounds], description=help_)
    if kind == FieldKind.DATE:
        return DateField(label, validators=[needed], description=help_)
    choices = [SelectChoice(c, c) for c in field.choices]
    if kind == FieldKind.SINGLE:
        return RadioField(
            label,
            choices=choices,
            validate_choice=False,
            validators=[needed, Choices(field.choices)],
            description=help_,
        )
    if kind == FieldKind.DROPDOWN:
        return SelectField(
            label,
            choices=[SelectChoice("", _l("Choose one")), *choices],
            validate_choice=False,
            validators=[needed, Choices(field.choices)],
            description=help_,
        )
    if kind == FieldKind.MULTIPLE:
        validators = [Choices(field.choices)]
        if field.required:
            validators.insert(0, DataRequired(_l("Choose at least one.")))
        return CheckboxesField(
            label,
            choices=choices,
            validate_choice=False,
            validators=validators,
            description=help_,
        )
    if kind == FieldKind.EMAIL:
        return EmailField(
            label,
            validators=[
                needed,
                Email(_l("Enter an e-mail address like name@example.jp.")),
                MaxChars(254),
            ],
            description=help_,
        )
    if kind == FieldKind.PHONE:
        return StringField(
            label,
            validators=[_required(field), Phone(), MaxChars(30)],
            description=help_,
            render_kw={"type": "tel", "autocomplete": "tel"},
        )
    if kind == FieldKind.POSTAL_CODE:
        return StringField(
            label,
            validators=[_required(field), PostalCode(), MaxChars(10)],
            description=help_,
            render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
        )
    if kind == FieldKind.CONSENT:
        validators = [DataRequired(_l("Tick the box to agree."))] if field.required else []
        return BooleanField(label, validators=validators, description=help_)
    if kind == FieldKind.FILE:
        return FileField(
            label,
            description=help_
            or _l("PDF, JPEG or PNG, up to %(mb)d MB.", mb=uploads.limit_mb(field.maximum)),
            render_kw={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"},
        )
    raise ValueError(f"unknown field kind {kind}")


def answer_form(online_form: OnlineForm, formdata=None, data: dict | None = None) -> FlaskForm:
    """A FlaskForm asking every field of ``online_form`` (``data``: values to start from)."""

    class AnswerForm(FlaskForm):
        key = HiddenField()  # the idempotency key, from the first page to the last

        def validate(self, extra_validators=None) -> bool:
            super().validate(extra_validators)
            for question in online_form.questions:
                if question.kind == FieldKind.FILE:
                    self._take_file(question)
            # a conditional question whose condition is not met is not asked: no error, and
            # its answer is neither kept nor stored
            given = {f.key: self._fields[f.key].data for f in online_form.questions}
            for question in online_form.questions:
                if not question.shown_for(given):
                    self._fields[question.key].errors = []
                    self._fields[question.key].data = None
                    given[question.key] = None
            self._errors = None
            return not any(f.errors for f in self._fields.values())

        def _take_file(self, question: FormField) -> None:
            """A new file (checked and kept), or the one the page carried, or none."""
            field = self._fields[question.key]
            field.errors = list(field.process_errors)
            user_id = current_user.id if current_user.is_authenticated else None
            upload = request.files.get(question.key)
            record = None
            if upload is not None and upload.filename:
                try:
                    record = uploads.save(upload, question.maximum, user_id)
                except uploads.BadFile as exc:
                    field.errors.append(_file_problem(exc, question.maximum))
            elif token := request.form.get(f"{question.key}__file"):
                record = uploads.unsign(token, user_id)
            field.data = record
            self.files[question.key] = record
            if record is None and question.required and not field.errors:
                field.errors.append(_("Choose a file to send."))

        def asked(self, question: FormField) -> bool:
            given = {f.key: self._fields[f.key].data for f in online_form.questions}
            return question.shown_for(given)

    for field in online_form.questions:
        setattr(AnswerForm, field.key, wtforms_field(field))
    form = AnswerForm(formdata=formdata) if formdata is not None else AnswerForm()
    form.files = {}  # question key → the record of its file, once the form is checked
    for name, value in (data or {}).items():
        if name in form._fields and value is not None:
            form._fields[name].data = date.fromisoformat(value) if _is_date(form, name) else value
    return form


def carried_values(field) -> list[str]:
    """A field's answer as the strings a browser sends, to carry it through a page that does
    not show its question (a form in pages): as typed when it was typed, else its value."""
    if field.raw_data is not None:
        return [value for value in field.raw_data if isinstance(value, str)]
    data = field.data
    if data is None or data is False or data == "" or data == []:
        return []
    if data is True:
        return ["y"]
    if isinstance(data, list):
        return [str(value) for value in data]
    if isinstance(data, date):
        return [data.isoformat()]
    return [str(data)]


def _is_date(form, name: str) -> bool:
    return isinstance(form._fields[name], DateField)


def stored_answers(online_form: OnlineForm, form: FlaskForm) -> dict:
    """The values to store, by field key; empty answers are left out."""
    out = {}
    for field in online_form.questions:
        value = form._fields[field.key].data
        if isinstance(value, date):
            value = value.isoformat()
        if value in (None, [], False) or (isinstance(value, str) and not value.strip()):
            continue  # (text is kept exactly as typed: it reads back the same)
        out[field.key] = value
    return out


def shown(field: FormField, value) -> str:
    """An answer as people read it."""
    return shown_value(field.kind, value)


def _file_problem(exc, maximum: int | None) -> str:
    if exc.reason == "large":
        return _(
            "The file is %(size)s MB; this question takes up to %(limit)d MB.",
            size=f"{exc.size / 1024 / 1024:.1f}",
            limit=uploads.limit_mb(maximum),
        )
    if exc.reason == "empty":
        return _("The file is empty.")
    return _("Send a PDF, JPEG or PNG file.")


def shown_value(kind: FieldKind, value, agreed: str | None = None) -> str:
    """``shown`` by the kind of question; ``agreed``, the word for a consent, when there is no
    request to translate it in (a streamed export)."""
    if value is None or value == "":
        return ""
    if isinstance(value, dict):  # a file
        return f"{value.get('name', '')} ({max(1, round(value.get('size', 0) / 1024))} KB)"
    if kind == FieldKind.CONSENT:
        return (agreed or _("Agreed")) if value else ""
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)
