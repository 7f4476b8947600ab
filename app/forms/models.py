"""A form staff build (its fields in order) and the answers residents send."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.extensions import db, db_enum
from app.timeutil import as_utc, utcnow


class FormState(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class FieldKind(enum.StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    DATE = "date"
    SINGLE = "single"  # radio buttons
    MULTIPLE = "multiple"  # check boxes
    DROPDOWN = "dropdown"
    EMAIL = "email"
    PHONE = "phone"
    POSTAL_CODE = "postal_code"
    CONSENT = "consent"
    FILE = "file"  # PDF, JPEG or PNG; ``maximum`` is the cap in MB
    SECTION = "section"  # not a question: a heading (label) and its text (help); starts a page


#: profile data a question may be filled in from (key → the kinds of question it suits)
PREFILL_SOURCES = ("full_name", "furigana", "postal_code", "address", "phone", "email")
#: the characters a text question may take (checked after NFKC: full-width digits are digits)
PATTERNS = ("digits", "katakana", "hiragana", "alphanumeric")

CHOICE_KINDS = {FieldKind.SINGLE, FieldKind.MULTIPLE, FieldKind.DROPDOWN}
TEXT_KINDS = {FieldKind.SHORT_TEXT, FieldKind.LONG_TEXT}


class OnlineForm(db.Model):
    __tablename__ = "online_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    thank_you: Mapped[str] = mapped_column(Text, default="")
    department: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[FormState] = mapped_column(
        db_enum(FormState, "form_state"), default=FormState.DRAFT
    )
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    login_required: Mapped[bool] = mapped_column(default=True, server_default=sa_false())
    one_per_person: Mapped[bool] = mapped_column(default=True, server_default=sa_false())
    max_answers: Mapped[int | None] = mapped_column(Integer)
    #: answers (and their files) are deleted this many days after the form closes; None keeps them
    retention_days: Mapped[int | None] = mapped_column(Integer)
    #: residents see a summary of the questions marked public (small categories hidden)
    summary_public: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: e-mail the receipt code to a signed-in person who answers
    receipt_mail: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    #: one section a page (a page per section heading), else every question on one page
    paged: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    fields: Mapped[list[FormField]] = relationship(
        back_populates="form", order_by="FormField.position", cascade="all, delete-orphan"
    )

    @property
    def questions(self) -> list[FormField]:
        """What is asked (the section headings left out), in order."""
        return [f for f in self.fields if f.kind != FieldKind.SECTION]

    def pages(self) -> list[list[FormField]]:
        """The items of each page: every section heading starts one when the form is paged;
        otherwise one page holds everything."""
        if not self.paged:
            return [list(self.fields)]
        pages: list[list[FormField]] = [[]]
        for item in self.fields:
            if item.kind == FieldKind.SECTION and pages[-1]:
                pages.append([])
            pages[-1].append(item)
        return pages

    def opens_later(self, now: datetime | None = None) -> bool:
        """Open, and waiting for its opening time (when it takes answers by itself)."""
        now = as_utc(now or utcnow())
        return (
            self.state == FormState.OPEN
            and self.opens_at is not None
            and now < as_utc(self.opens_at)
        )

    def accepts_answers(self, now: datetime | None = None) -> bool:
        now = as_utc(now or utcnow())
        if self.state != FormState.OPEN:
            return False
        if self.opens_at is not None and now < as_utc(self.opens_at):
            return False
        return self.closes_at is None or now < as_utc(self.closes_at)


class FormField(db.Model):
    __tablename__ = "form_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(
        ForeignKey("online_forms.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[FieldKind] = mapped_column(db_enum(FieldKind, "form_field_kind"))
    label: Mapped[str] = mapped_column(String(300))
    help: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    choices: Mapped[list[str]] = mapped_column(JSON, default=list)
    minimum: Mapped[int | None] = mapped_column(Integer)  # characters, or the number's value
    maximum: Mapped[int | None] = mapped_column(Integer)
    #: asked only when an earlier question with choices has this answer (conditional display)
    show_if_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_fields.id", ondelete="SET NULL")
    )
    show_if_value: Mapped[str | None] = mapped_column(String(100))
    #: what of the person's profile fills it in when they choose (see PREFILL_SOURCES)
    prefill: Mapped[str | None] = mapped_column(String(20))
    #: a text question takes only these characters (see PATTERNS)
    pattern: Mapped[str | None] = mapped_column(String(20))
    #: its summary is in the residents' summary (choices and numbers only)
    public: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    form: Mapped[OnlineForm] = relationship(back_populates="fields")
    show_if: Mapped[FormField | None] = relationship(remote_side="FormField.id")

    def shown_for(self, values: dict) -> bool:
        """Whether the question is asked, given the answers so far (field key → value)."""
        if self.show_if_id is None or self.show_if is None:
            return True
        given = values.get(self.show_if.key)
        chosen = given if isinstance(given, list) else [given]
        return self.show_if_value in chosen

    @property
    def key(self) -> str:
        """The field's name in the filled-in form and in the stored answers."""
        return f"f{self.id}"


class Submission(db.Model):
    """One person's answers: field key → value (a string, a number, a list of choices, a date
    as ISO text, or a consent as true)."""

    __tablename__ = "form_submissions"
    __table_args__ = (
        # one answer per person: ``one_key`` is the user id when the form allows only one
        UniqueConstraint("form_id", "one_key", name="uq_form_submissions_one_per_person"),
        UniqueConstraint(
            "form_id", "user_id", "idempotency_key", name="uq_form_submissions_idempotency"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(
        ForeignKey("online_forms.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    one_key: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    receipt_code: Mapped[str] = mapped_column(String(20), unique=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    form: Mapped[OnlineForm] = relationship()
    user: Mapped[User | None] = relationship()


class Draft(db.Model):
    """Answers a person saved to finish later (as typed, not yet checked): one per form."""

    __tablename__ = "form_drafts"
    __table_args__ = (UniqueConstraint("form_id", "user_id", name="uq_form_drafts_person"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("online_forms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # field name → list of strings
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TextGrouping(db.Model):
    """The written answers to one question grouped into themes (analytics, in the jobs process):
    each theme's name, keywords, size and a few masked examples."""

    __tablename__ = "form_text_groupings"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(
        ForeignKey("online_forms.id", ondelete="CASCADE"), index=True
    )
    field_id: Mapped[int] = mapped_column(ForeignKey("form_fields.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default="queued")  # running, done, failed
    texts: Mapped[int] = mapped_column(Integer, default=0)
    themes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
