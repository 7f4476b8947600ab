"""Forms for staff (the consultation) and residents (an opinion)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import Length, ValidationError

from app.consultations.models import Channel, State
from app.consultations.operations import HEADING_MAX, parse_draft
from app.i18n import use_area_choices
from app.moderation.validators import Moderated
from app.timeutil import TOKYO, as_utc, parse_tokyo, utcnow
from app.validators import (
    MaxChars,
    NoControlCharacters,
    NotBlank,
    OptionalText,
    nfkc_strip,
    one_of,
)

# The rules of an opinion's fields, in one place. The opinion forms below check them, and so
# does the CSV importer (app.consultations.importing), which cannot use these forms: Moderated
# reads the signed-in user, and a command-line run has no request. The rules are these values
# and the shared checks in app.validators (has_visible, chars_over, nfkc_strip, parse_tokyo);
# each caller says what is wrong in its own words (a form in the page's language, the importer
# in English with the CSV line and cell).
OPINION_MAX = 4000
AGE_BANDS = ("10s", "20s", "30s", "40s", "50s", "60s", "70s", "80+")
AGE_BAND_LABELS = {  # the stored codes as people write them: 10代, 80代以上
    "10s": _l("Teens"),
    "20s": _l("20s"),
    "30s": _l("30s"),
    "40s": _l("40s"),
    "50s": _l("50s"),
    "60s": _l("60s"),
    "70s": _l("70s"),
    "80+": _l("80 or over"),
}
ENTRY_CHANNELS = {  # how an opinion staff enter reached the ward (residents post on the web)
    Channel.PAPER: _l("Paper (post)"),
    Channel.FAX: _l("Fax"),
    Channel.COUNTER: _l("At the counter"),
    Channel.EMAIL: _l("E-mail"),
}


def _text(label, limit, *, multiline=False, required=True, **kwargs):
    validators = [
        NotBlank(_l("Enter %(field)s.", field=label)) if required else OptionalText(),
        Length(max=limit, message=_l("Use at most %(max)d characters.")),
        NoControlCharacters(multiline=multiline),
    ]
    field = TextAreaField if multiline else StringField
    return field(label, validators=validators, **kwargs)


class TokyoDateTimeField(StringField):
    """A date and time typed in Asia/Tokyo (``datetime-local``), stored as aware UTC."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("render_kw", {"type": "datetime-local"})
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        if isinstance(self.data, datetime):
            return as_utc(self.data).astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")
        return self.raw_data[0] if self.raw_data else ""

    def process_formdata(self, valuelist) -> None:
        text = nfkc_strip(valuelist[0]) if valuelist else ""
        self.data = parse_tokyo(text) if text else None
        if text and self.data is None:
            raise ValueError(_l("Enter a date and time like 2026-12-01 09:00."))


class ConsultationForm(FlaskForm):
    title = _text(_l("Title"), 200)
    summary = _text(_l("Summary"), 2000, multiline=True, render_kw={"rows": 4})
    department = _text(_l("Department"), 100)
    contact = _text(
        _l("Contact"),
        300,
        multiline=True,
        description=_l("Shown to residents: phone, e-mail or counter of the department."),
        render_kw={"rows": 2},
    )
    topics = _text(
        _l("Topics"), 200, required=False, description=_l("Separated by commas, e.g. 子育て, 公園")
    )
    area = SelectField(_l("Area"), validate_choice=False)
    opens_at = TokyoDateTimeField(_l("Opens (Tokyo time)"))
    closes_at = TokyoDateTimeField(_l("Closes (Tokyo time)"))
    draft = _text(
        _l("Draft"),
        200_000,
        multiline=True,
        description=_l(
            "Start each section with a line beginning with #, e.g. '# 第1章 総則'. "
            "Residents can comment on each section."
        ),
        render_kw={"rows": 16},
    )

    def __init__(self, *args, fixed=(), consultation=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        use_area_choices(self.area, _l("The whole ward"))
        # what can no longer change is shown read-only, not as a field whose edits are lost
        self.consultation = consultation
        for name in fixed:
            del self[name]

    def validate_draft(self, field) -> None:
        for position, (heading, _body) in enumerate(parse_draft(field.data or ""), start=1):
            if len(heading) > HEADING_MAX:
                raise ValidationError(
                    _l(
                        "The heading of section %(n)d is %(over)d characters too long "
                        "(at most %(max)d).",
                        n=position,
                        over=len(heading) - HEADING_MAX,
                        max=HEADING_MAX,
                    )
                )

    def validate_closes_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(_l("Enter a date and time like 2026-12-01 09:00."))
        opens_at = self.opens_at.data if "opens_at" in self else self.consultation.opens_at
        if opens_at and field.data <= as_utc(opens_at):
            raise ValidationError(_l("The closing time must be after the opening time."))
        if (
            self.consultation is not None
            and self.consultation.current_state() == State.OPEN
            and field.data <= utcnow()
        ):
            raise ValidationError(
                _l(
                    "The closing time of an open consultation must be later than now; to stop "
                    "taking opinions now, use the button on its page."
                )
            )

    def validate_opens_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(_l("Enter a date and time like 2026-12-01 09:00."))


def opinion_body(label, *, spam: bool) -> TextAreaField:
    """The text of an opinion: something visible, not too long, through moderation.

    ``spam``: check it against the author's and everyone's recent posts (a new opinion);
    a changed opinion or one staff type in for someone else is not checked that way.
    """
    return TextAreaField(
        label,
        validators=[
            NotBlank(_l("Write your opinion.")),
            MaxChars(OPINION_MAX),
            NoControlCharacters(multiline=True),
            Moderated(spam=spam),
        ],
        render_kw={"rows": 8, "maxlength": OPINION_MAX},
    )


class OpinionForm(FlaskForm):
    section = SelectField(_l("About"), validate_choice=False)
    body = opinion_body(_l("Your opinion"), spam=True)
    show_name = BooleanField(_l("Show my display name with my opinion (otherwise: anonymous)"))
    age_band = SelectField(
        _l("Age group"),
        description=_l("Used only for statistics."),
        choices=[SelectChoice("", _l("Not given"))]
        + [SelectChoice(band, AGE_BAND_LABELS[band]) for band in AGE_BANDS],
        validate_choice=False,
        validators=[one_of(["", *AGE_BANDS])],
    )
    area = SelectField(
        _l("Area of the ward"), description=_l("Used only for statistics."), validate_choice=False
    )
    key = HiddenField()

    def __init__(self, *args, sections=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.section.choices = [SelectChoice("", _l("The whole draft"))] + [
            SelectChoice(str(s.id), s.heading or _l("Section %(n)d", n=s.position))
            for s in sections
        ]
        self.section.validators = [one_of(["", *(str(s.id) for s in sections)])]
        use_area_choices(self.area, _l("Not given"))


class EnteredOpinionForm(OpinionForm):
    """Staff enter an opinion that arrived on paper, by fax, at the counter or by e-mail."""

    channel = SelectField(
        _l("Received by"),
        choices=[SelectChoice(channel.value, label) for channel, label in ENTRY_CHANNELS.items()],
        validate_choice=False,
        validators=[one_of(channel.value for channel in ENTRY_CHANNELS)],
    )
    received_at = TokyoDateTimeField(
        _l("Received on (Tokyo time)"), description=_l("Leave empty for now.")
    )
    body = opinion_body(_l("The opinion as written"), spam=False)
    show_name = None  # there is no account to show

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.section.label.text = _l("About")


class EditOpinionForm(FlaskForm):
    body = opinion_body(_l("Your opinion"), spam=False)


class ReceiptForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    code = StringField(_l("Receipt code"), validators=[NotBlank(_l("Enter the receipt code."))])


class AttachmentForm(FlaskForm):
    """A PDF for a consultation; the operation checks that it is one and its size."""

    title = _text(
        _l("Link text"),
        200,
        description=_l("What the document is, e.g. 計画案（全文）. Residents see it as the link."),
    )
    file = FileField(
        _l("PDF file"),
        validators=[FileRequired(_l("Choose a PDF file."))],
        render_kw={"accept": "application/pdf,.pdf"},
    )


class ImportUploadForm(FlaskForm):
    """Step one of a CSV import: the file, checked whole; nothing is saved."""

    file = FileField(
        _l("CSV file"),
        description=_l(
            "Columns: channel (paper, fax, counter, email, or 紙, ファクス, 窓口, メール), text, "
            "and optionally section (its number), received_at (2026-12-01 09:00), age_band "
            "(70代) and area. UTF-8 or Shift_JIS, with a header line."
        ),
        validators=[FileRequired(_l("Choose a CSV file."))],
        render_kw={"accept": ".csv,text/csv"},
    )


class ImportConfirmForm(FlaskForm):
    """Step two: the checked file again (as shown in the preview), to import it."""

    content = HiddenField(validators=[NotBlank(_l("Choose a CSV file."))])

    def text(self) -> str | None:
        """The file's text, or None when what came back is not what the preview carried."""
        import base64
        import binascii

        try:
            return base64.b64decode(self.content.data or "", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
