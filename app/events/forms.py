"""The staff form of an event."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from app.consultations.forms import TokyoDateTimeField
from app.events.models import Audience, Engine, Mode
from app.validators import MaxChars, NoControlCharacters, NotBlank, OptionalText, one_of

MODES = {Mode.ONLINE: _l("Online only"), Mode.HYBRID: _l("Hybrid: at a venue and online")}
AUDIENCES = {
    Audience.EVERYONE: _l("Everyone"),
    Audience.SIGNED_IN: _l("Signed-in residents"),
    Audience.REGISTERED: _l("Registered people only"),
}
ENGINES = {
    Engine.KOE: _l("Koe's media service"),
    Engine.EXTERNAL: _l("An external engine (WHIP in, HLS out)"),
}


class StreamURL:
    """An http(s) address without spaces or credentials."""

    def __call__(self, form, field) -> None:
        value = (field.data or "").strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
            raise ValidationError(_l("Enter an address starting with https://."))
        if any(c.isspace() for c in value):
            raise ValidationError(_l("Enter an address starting with https://."))
        field.data = value


class EmbeddablePlayer:
    """An https page from an origin the site allows to be embedded (KOE_EMBED_ORIGINS)."""

    def __call__(self, form, field) -> None:
        parts = urlsplit(field.data or "")
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if parts.scheme != "https" or origin not in current_app.config["EMBED_ORIGINS"]:
            allowed = " ".join(current_app.config["EMBED_ORIGINS"]) or _l("none")
            raise ValidationError(
                _l(
                    "This site embeds players only from the addresses its administrator "
                    "allows (KOE_EMBED_ORIGINS: %(allowed)s).",
                    allowed=allowed,
                )
            )


SLOW_MODES = {
    0: _l("Off"),
    5: _l("5 seconds"),
    10: _l("10 seconds"),
    30: _l("30 seconds"),
    60: _l("1 minute"),
}
DATE_HINT = _l("Enter a date and time like 2026-12-01 09:00.")


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[NotBlank(), MaxChars(200), NoControlCharacters()])
    description = TextAreaField(
        _l("Description"),
        validators=[OptionalText(), MaxChars(4000), NoControlCharacters(multiline=True)],
        render_kw={"rows": 5},
    )
    speakers = TextAreaField(
        _l("Speakers"),
        description=_l("One per line, e.g. 山田花子（声区みどり課長）"),
        validators=[OptionalText(), MaxChars(500), NoControlCharacters(multiline=True)],
        render_kw={"rows": 3},
    )
    department = StringField(
        _l("Department"), validators=[OptionalText(), MaxChars(100), NoControlCharacters()]
    )
    starts_at = TokyoDateTimeField(_l("Starts (Tokyo time)"))
    ends_at = TokyoDateTimeField(_l("Ends (Tokyo time)"))
    mode = SelectField(
        _l("How people take part"),
        choices=[SelectChoice(m.value, label) for m, label in MODES.items()],
        validate_choice=False,
        validators=[one_of(m.value for m in MODES)],
    )
    venue = TextAreaField(
        _l("Venue"),
        description=_l("For a hybrid event: the place, its address and how to get there."),
        validators=[OptionalText(), MaxChars(300), NoControlCharacters(multiline=True)],
        render_kw={"rows": 2},
    )
    registration_required = BooleanField(
        _l("Registration required"),
        description=_l("People register for a place; when the event is full they can wait."),
        default=True,
    )
    capacity = IntegerField(
        _l("Places online"),
        description=_l("Empty: no limit."),
        validators=[Optional(), NumberRange(1, 100_000, message=_l("Enter 1 to 100,000."))],
    )
    venue_capacity = IntegerField(
        _l("Places at the venue"),
        description=_l(
            "For a hybrid event: the seats in the room, apart from the places online. Empty: no limit."  # noqa: E501
        ),
        validators=[Optional(), NumberRange(1, 100_000, message=_l("Enter 1 to 100,000."))],
    )
    audience = SelectField(
        _l("Who may watch the stream and the archive"),
        choices=[SelectChoice(a.value, label) for a, label in AUDIENCES.items()],
        validate_choice=False,
        validators=[one_of(a.value for a in AUDIENCES)],
    )
    engine = SelectField(
        _l("Streaming engine"),
        choices=[SelectChoice(e.value, label) for e, label in ENGINES.items()],
        validate_choice=False,
        validators=[one_of(e.value for e in ENGINES)],
        default=Engine.KOE.value,
    )
    external_ingest_url = StringField(
        _l("External engine: WHIP address"),
        description=_l(
            "Where the presenter sends the stream (WHIP), e.g. https://live.example.jp/lecture/whip"
        ),
        validators=[OptionalText(), MaxChars(500), StreamURL()],
    )
    external_playback_url = StringField(
        _l("External engine: HLS address"),
        description=_l(
            "The HLS playlist viewers play, e.g. https://live.example.jp/lecture/index.m3u8"
        ),
        validators=[OptionalText(), MaxChars(500), StreamURL()],
    )
    external_embed_url = StringField(
        _l("External engine: a player to embed"),
        description=_l(
            "Instead of the HLS address: the page of the engine's player, "
            "e.g. https://www.youtube-nocookie.com/embed/…"
        ),
        validators=[OptionalText(), MaxChars(500), StreamURL(), EmbeddablePlayer()],
    )
    chat_enabled = BooleanField(
        _l("Live chat"),
        description=_l("Viewers can write in a chat beside the video."),
        default=True,
    )
    slow_mode_seconds = SelectField(
        _l("Slow mode"),
        description=_l("How long each person waits between two chat messages."),
        choices=[SelectChoice(str(n), label) for n, label in SLOW_MODES.items()],
        coerce=int,
        default=0,
    )
    questions_enabled = BooleanField(
        _l("Q&A"),
        description=_l("Viewers ask questions and upvote others' questions, apart from the chat."),
        default=True,
    )
    questions_moderated = BooleanField(
        _l("Screen questions"),
        description=_l("A moderator approves each question before others see it."),
        default=False,
    )
    questions_anonymous = BooleanField(
        _l("Anonymous questions allowed"),
        description=_l("People may ask without their name being shown (staff still see it)."),
        default=True,
    )

    def validate_starts_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(DATE_HINT)

    def validate_ends_at(self, field) -> None:
        if field.data is None:
            raise ValidationError(DATE_HINT)
        if self.starts_at.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # here, not in validate_venue: an empty optional field stops its own validators
        if self.mode.data == Mode.HYBRID.value and not self.venue.data:
            self.venue.errors = [*self.venue.errors, _l("A hybrid event needs its venue.")]
            valid = False
        if (
            self.engine.data == Engine.EXTERNAL.value
            and not self.external_playback_url.data
            and not self.external_embed_url.data
        ):
            self.external_playback_url.errors = [
                *self.external_playback_url.errors,
                _l("An external engine needs the HLS address viewers play, or a player to embed."),
            ]
            valid = False
        return valid

    def validate_capacity(self, field) -> None:
        if field.data is not None and not self.registration_required.data:
            raise ValidationError(
                _l("Places are counted by registration: require it, or leave this empty.")
            )

    def validate_venue_capacity(self, field) -> None:
        if field.data is not None and not self.registration_required.data:
            raise ValidationError(
                _l("Places are counted by registration: require it, or leave this empty.")
            )
        if field.data is not None and self.mode.data != Mode.HYBRID.value:
            raise ValidationError(_l("Only a hybrid event has places at a venue."))

    def validate_audience(self, field) -> None:
        if field.data == Audience.REGISTERED.value and not self.registration_required.data:
            raise ValidationError(
                _l("Only registered people can watch only if registration is required.")
            )
