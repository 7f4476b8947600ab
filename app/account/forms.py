"""The profile form: optional personal details used to pre-fill forms once."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from app.auth.forms import display_name_field
from app.i18n import use_area_choices
from app.timeutil import utcnow
from app.validators import NoControlCharacters, OptionalText, empty_to_none, nfkc_strip

_KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u309d\u309e\u30fd\u30fe\s]+$")
_POSTAL = re.compile(r"^〒?\s*(\d{3})-?(\d{4})$")


def _max(n: int):
    return Length(max=n, message=_l("Use at most %(max)d characters."))


class ProfileForm(FlaskForm):
    display_name = display_name_field()
    full_name = StringField(
        _l("Full name"),
        filters=[empty_to_none],
        validators=[OptionalText(), _max(100), NoControlCharacters()],
        render_kw={"autocomplete": "name"},
    )
    furigana = StringField(
        _l("Furigana"),
        description=_l("Your name in kana, for example やまだ はなこ or ヤマダ ハナコ."),
        filters=[empty_to_none],
        validators=[OptionalText(), _max(100)],
    )
    postal_code = StringField(
        _l("Postal code"),
        description=_l("Seven digits, for example 123-4567."),
        filters=[nfkc_strip, empty_to_none],
        validators=[Optional()],
        render_kw={"autocomplete": "postal-code", "inputmode": "numeric"},
    )
    address = TextAreaField(
        _l("Address"),
        filters=[empty_to_none],
        validators=[OptionalText(), _max(300), NoControlCharacters(multiline=True)],
        render_kw={"autocomplete": "street-address", "rows": 2},
    )
    phone = StringField(
        _l("Phone number"),
        description=_l("For example 03-1234-5678 or 090-1234-5678."),
        filters=[nfkc_strip, empty_to_none],
        validators=[Optional(), _max(20)],
        render_kw={"autocomplete": "tel", "inputmode": "tel"},
    )
    birth_year = StringField(
        _l("Year of birth"),
        description=_l("Four digits, for example 1985."),
        filters=[nfkc_strip, empty_to_none],
        validators=[Optional()],
        render_kw={"inputmode": "numeric", "autocomplete": "bday-year"},
    )
    # Choices are checked in validate_area, with our own message.
    area = SelectField(_l("Area of the ward"), validate_choice=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        use_area_choices(self.area, _l("Not given"), _l("Choose an area from the list."))

    def validate_birth_year(self, field) -> None:
        this_year = utcnow().year
        if not (field.data.isascii() and field.data.isdigit()) or not (
            1900 <= int(field.data) <= this_year
        ):
            raise ValidationError(
                _l("Enter a year between %(min)d and %(max)d.", min=1900, max=this_year)
            )
        field.data = int(field.data)

    def validate_furigana(self, field) -> None:
        if field.data and not _KANA.match(unicodedata.normalize("NFKC", field.data)):
            raise ValidationError(_l("Write the furigana in hiragana or katakana."))

    def validate_postal_code(self, field) -> None:
        match = _POSTAL.match(field.data or "")
        if not match:
            raise ValidationError(_l("Enter seven digits, for example 123-4567."))
        field.data = f"{match[1]}-{match[2]}"

    def validate_phone(self, field) -> None:
        try:
            number = phonenumbers.parse(field.data, "JP")
        except phonenumbers.NumberParseException:
            number = None
        if number is None or not phonenumbers.is_valid_number(number):
            raise ValidationError(_l("Enter a phone number that can be called in Japan."))
        field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)

    def validate_area(self, field) -> None:
        field.data = field.data or None
