"""Online forms: building (staff), answering (residents), answers and summaries (staff).
Operations never commit; the caller does, once."""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError

from app import audit, jobs
from app.api.csvfile import safe_cell
from app.auth.models import User
from app.consultations.operations import new_receipt_code
from app.extensions import db
from app.forms import uploads
from app.forms.definition import shown_value
from app.forms.models import (
    CHOICE_KINDS,
    Draft,
    FieldKind,
    FormField,
    FormState,
    OnlineForm,
    Submission,
)
from app.timeutil import TOKYO, as_utc, to_tokyo, utcnow

MOVES = {
    FormState.DRAFT: {FormState.OPEN},
    FormState.OPEN: {FormState.CLOSED},
    FormState.CLOSED: {FormState.OPEN},
}


class NotAllowed(Exception):
    """The answer cannot be taken (closed, full, already answered, login needed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def move(online_form: OnlineForm, target: FormState, staff: User) -> None:
    if target not in MOVES[online_form.state]:
        raise ValueError(f"a form cannot go from {online_form.state} to {target}")
    if target == FormState.OPEN and not online_form.questions:
        raise ValueError("a form needs a question before it opens")
    before = online_form.state
    online_form.state = target
    audit.record(
        "form.state", online_form, actor=staff, details={"from": before.value, "to": target.value}
    )


SETTINGS = (
    "description", "thank_you", "department", "opens_at", "closes_at", "login_required",
    "one_per_person", "max_answers", "receipt_mail", "summary_public", "retention_days", "paged",
)  # fmt: skip
QUESTION = (
    "kind",
    "label",
    "help",
    "required",
    "choices",
    "minimum",
    "maximum",
    "prefill",
    "pattern",
    "public",
)


def copy(online_form: OnlineForm, staff: User, title: str) -> OnlineForm:
    """A new draft with the same settings and questions (conditions kept), no answers."""
    twin = OnlineForm(title=title[:200], state=FormState.DRAFT, created_by_id=staff.id)
    for name in SETTINGS:
        setattr(twin, name, getattr(online_form, name))
    db.session.add(twin)
    db.session.flush()
    made: dict[int, FormField] = {}
    for question in online_form.fields:
        made[question.id] = add_field(
            twin, staff, **{name: getattr(question, name) for name in QUESTION}
        )
    for question in online_form.fields:
        if question.show_if_id in made:
            made[question.id].show_if_id = made[question.show_if_id].id
            made[question.id].show_if_value = question.show_if_value
    audit.record("form.copy", twin, actor=staff, details={"from": online_form.id})
    return twin


def add_field(online_form: OnlineForm, staff: User, **values) -> FormField:
    if online_form.state != FormState.DRAFT:
        raise ValueError("questions change only while the form is a draft")
    position = max((f.position for f in online_form.fields), default=-1) + 1
    created = FormField(form=online_form, position=position, **values)
    db.session.add(created)
    db.session.flush()
    audit.record("form.field.add", online_form, actor=staff, details={"field": created.id})
    return created


def update_field(form_field: FormField, staff: User, **values) -> None:
    if form_field.form.state != FormState.DRAFT:
        raise ValueError("questions change only while the form is a draft")
    for name, value in values.items():
        setattr(form_field, name, value)
    audit.record("form.field.edit", form_field.form, actor=staff, details={"field": form_field.id})


def remove_field(form_field: FormField, staff: User) -> None:
    online_form = form_field.form
    if online_form.state != FormState.DRAFT:
        raise ValueError("questions change only while the form is a draft")
    audit.record("form.field.remove", online_form, actor=staff, details={"field": form_field.id})
    online_form.fields.remove(form_field)
    for n, remaining in enumerate(online_form.fields):
        remaining.position = n


def shift_field(form_field: FormField, step: int, staff: User) -> None:
    """Move a question up (-1) or down (+1) in the form."""
    online_form = form_field.form
    if online_form.state != FormState.DRAFT:
        raise ValueError("questions change only while the form is a draft")
    fields = list(online_form.fields)
    at = fields.index(form_field)
    to = at + step
    if 0 <= to < len(fields):
        fields[at].position, fields[to].position = fields[to].position, fields[at].position
        audit.record("form.field.move", online_form, actor=staff, details={"field": form_field.id})


def profile_values(online_form: OnlineForm, user: User | None) -> dict[str, str]:
    """The answers the person's profile gives (field key → value), for the questions that
    take them; only when they ask for it."""
    if user is None:
        return {}
    profile = user.profile
    values = {}
    for question in online_form.questions:
        source = question.prefill
        if source == "email":
            value = user.email
        elif source and profile is not None:
            value = getattr(profile, source, None)
        else:
            value = None
        if value:
            values[question.key] = str(value)
    return values


DRAFT_VALUE_MAX = 20_000  # characters of one saved value (the form's own limits apply on sending)


def draft_of(online_form: OnlineForm, user: User | None) -> Draft | None:
    if user is None:
        return None
    return db.session.scalar(
        select(Draft).where(Draft.form_id == online_form.id, Draft.user_id == user.id)
    )


def save_draft(online_form: OnlineForm, user: User, formdata) -> Draft:
    """Keep what the person typed so far, unchecked, to finish later (one draft per form)."""
    names = {f.key for f in online_form.questions}
    values = {
        name: [v[:DRAFT_VALUE_MAX] for v in formdata.getlist(name)][:60]
        for name in names
        if formdata.getlist(name)
    }
    draft = draft_of(online_form, user) or Draft(form_id=online_form.id, user_id=user.id)
    draft.values, draft.updated_at = values, utcnow()
    db.session.add(draft)
    return draft


def find_by_key(online_form: OnlineForm, user: User | None, key: str | None) -> Submission | None:
    if user is None or not key:
        return None
    return db.session.scalar(
        select(Submission).where(
            Submission.form_id == online_form.id,
            Submission.user_id == user.id,
            Submission.idempotency_key == key,
        )
    )


def answered(online_form: OnlineForm, user: User | None) -> Submission | None:
    """The person's answer, when the form takes one per person."""
    if user is None or not online_form.one_per_person:
        return None
    return db.session.scalar(
        select(Submission).where(
            Submission.form_id == online_form.id, Submission.one_key == user.id
        )
    )


def count(online_form: OnlineForm) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Submission).where(Submission.form_id == online_form.id)
    )


def open_now(limit: int, now: datetime | None = None) -> list[OnlineForm]:
    """Forms taking answers now, the soonest to close first, then the newest (home page)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(OnlineForm)
            .where(
                OnlineForm.state == FormState.OPEN,
                or_(OnlineForm.opens_at.is_(None), OnlineForm.opens_at <= now),
                or_(OnlineForm.closes_at.is_(None), OnlineForm.closes_at > now),
            )
            # forms without a closing time last (NULLs sort apart on SQLite and PostgreSQL)
            .order_by(OnlineForm.closes_at.is_(None), OnlineForm.closes_at, OnlineForm.id.desc())
            .limit(limit)
        )
    )


def check_open(online_form: OnlineForm, user: User | None) -> None:
    """Raise NotAllowed when ``user`` may not answer now."""
    if online_form.opens_later():
        raise NotAllowed("later")
    if not online_form.accepts_answers():
        raise NotAllowed("closed")
    if user is None and (online_form.login_required or online_form.one_per_person):
        raise NotAllowed("login")
    if answered(online_form, user) is not None:
        raise NotAllowed("answered")
    if online_form.max_answers is not None and count(online_form) >= online_form.max_answers:
        raise NotAllowed("full")


def submit(
    online_form: OnlineForm, user: User | None, answers: dict, key: str | None
) -> tuple[Submission, bool]:
    """Store the answers with a receipt code; return (submission, created). The same person
    and key give back the answer already stored (a double submit); a second answer to a form
    of one per person is refused, by the database too."""
    existing = find_by_key(online_form, user, key)
    if existing is not None:
        return existing, False
    check_open(online_form, user)
    submission = Submission(
        form=online_form,
        user=user,
        one_key=user.id if user is not None and online_form.one_per_person else None,
        idempotency_key=key if user is not None else None,
        receipt_code=new_receipt_code(),
        answers=answers,
    )
    try:
        with db.session.begin_nested():
            db.session.add(submission)
            db.session.flush()
            draft = draft_of(online_form, user)
            if draft is not None:  # sent: the draft has done its work
                db.session.delete(draft)
    except IntegrityError:  # a concurrent twin: the same key, or a second answer
        existing = find_by_key(online_form, user, key)
        if existing is not None:
            return existing, False
        raise NotAllowed("answered") from None
    return submission, True


def find_by_receipt(code: str) -> Submission | None:
    return db.session.scalar(select(Submission).where(Submission.receipt_code == code))


def my_submissions(user: User) -> list[Submission]:
    return list(
        db.session.scalars(
            select(Submission)
            .where(Submission.user_id == user.id)
            .order_by(Submission.created_at.desc())
        )
    )


# --- answers, summaries and the export ------------------------------------------------------


@dataclass
class Summary:
    field: FormField
    answered: int = 0
    counts: list[tuple[str, int]] = field(default_factory=list)  # choices, in the form's order
    numbers: dict[str, float] = field(default_factory=dict)  # count, min, max, mean
    texts: int = 0  # free-text answers (read them in the table)
    hidden: list[str] = field(default_factory=list)  # choices not shown to residents


def summaries(online_form: OnlineForm) -> tuple[int, list[Summary]]:
    """Per question: how many answered and, for choices, the count of each."""
    out = {f.key: Summary(f) for f in online_form.questions}
    tallies: dict[str, Counter] = {f.key: Counter() for f in online_form.questions}
    numbers: dict[str, list[float]] = {f.key: [] for f in online_form.questions}
    total = 0
    for (answers,) in db.session.execute(
        select(Submission.answers).where(Submission.form_id == online_form.id)
    ).yield_per(1000):
        total += 1
        for key, value in answers.items():
            if key not in out:
                continue  # a question removed since
            summary = out[key]
            summary.answered += 1
            kind = summary.field.kind
            if kind in CHOICE_KINDS:
                tallies[key].update(value if isinstance(value, list) else [value])
            elif kind == FieldKind.NUMBER and isinstance(value, int | float):
                numbers[key].append(value)
            elif kind == FieldKind.CONSENT:
                tallies[key].update(["yes"])
            else:
                summary.texts += 1
    for key, summary in out.items():
        if summary.field.kind in CHOICE_KINDS:
            summary.counts = [(c, tallies[key][c]) for c in summary.field.choices]
        values = numbers[key]
        if values:
            summary.numbers = {
                "count": len(values),
                "min": min(values),
                "max": max(values),
                "mean": round(sum(values) / len(values), 2),
            }
    return total, list(out.values())


SMALLEST_SHOWN = 5  # answers a category needs to be shown to residents


def suppressed(counts: list[tuple[str, int]]) -> set[str]:
    """The choices residents are not shown: those with fewer than SMALLEST_SHOWN answers and,
    when one of them has any answer, the smallest of the others too (complementary
    suppression), so that no hidden count can be worked out from the total and the counts
    shown; the hidden ones are never summed up either."""
    small = {choice for choice, n in counts if n < SMALLEST_SHOWN}
    if any(n for choice, n in counts if choice in small):
        shown = [
            (n, position) for position, (choice, n) in enumerate(counts) if choice not in small
        ]
        if shown:
            small.add(counts[min(shown)[1]][0])
    return small


def public_summaries(online_form: OnlineForm) -> tuple[int, list[Summary]]:
    """The summaries residents may see: the questions marked public, choices and numbers only;
    the choices in ``suppressed`` are left out (named in ``hidden``, without a count), numbers
    only from SMALLEST_SHOWN answers."""
    total, items = summaries(online_form)
    shown_items = []
    for item in items:
        if not item.field.public:
            continue
        if item.counts:
            hidden = suppressed(item.counts)
            item.hidden = [c for c, _n in item.counts if c in hidden]
            item.counts = [(c, n) for c, n in item.counts if c not in hidden]
            shown_items.append(item)
        elif item.numbers and item.numbers["count"] >= SMALLEST_SHOWN:
            shown_items.append(item)
    return total, shown_items


@dataclass(frozen=True)
class AnswerFilter:
    """Which answers staff look at: those with a given choice, received within Tokyo dates
    (both days included), or with a receipt code. Empty: all of them."""

    question: FormField | None = None
    choice: str | None = None
    since: date | None = None
    until: date | None = None
    code: str | None = None

    def conditions(self) -> list:
        out = []
        if self.question is not None and self.choice is not None:
            out.append(_has_choice(self.question, self.choice))
        if self.since is not None:
            out.append(Submission.created_at >= _tokyo_midnight(self.since))
        if self.until is not None:
            out.append(Submission.created_at < _tokyo_midnight(self.until + timedelta(days=1)))
        if self.code:
            out.append(Submission.receipt_code == self.code)
        return out

    def details(self) -> dict:
        """For the audit log: what the filter was, never an answer's content."""
        return {
            "question": self.question.id if self.question is not None else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "code": bool(self.code),
        }


def _tokyo_midnight(day: date) -> datetime:
    return datetime.combine(day, clock_time.min, tzinfo=TOKYO).astimezone(UTC)


def _has_choice(question: FormField, choice: str):
    """The answer to ``question`` is ``choice`` (or, with several choices, includes it)."""
    value = Submission.answers[question.key]
    if question.kind != FieldKind.MULTIPLE:
        return value.as_string() == choice
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(value, JSONB).contains([choice])
    each = func.json_each(Submission.answers, f"$.{question.key}").table_valued("value")
    return select(each.c.value).where(each.c.value == choice).exists()


def answers_query(online_form: OnlineForm, chosen: AnswerFilter | None = None):
    """The form's answers (through the filter), newest first."""
    return (
        select(Submission)
        .where(Submission.form_id == online_form.id, *(chosen or AnswerFilter()).conditions())
        .order_by(Submission.id.desc())
    )


def csv_lines(
    online_form: OnlineForm, staff: User, chosen: AnswerFilter | None = None
) -> Iterator[bytes]:
    """The answers as CSV (UTF-8 with BOM), one line at a time: memory stays flat however many
    there are. One column per question; choices of a multiple-choice question are joined with
    「、」. The export goes in the audit log (the caller commits before streaming)."""
    chosen = chosen or AnswerFilter()
    details = {
        "answers": count(online_form),
        **({"filter": chosen.details()} if chosen.conditions() else {}),
    }
    audit.record("form.export", online_form, actor=staff, details=details)
    columns = [(f.key, f.kind) for f in online_form.questions]
    header = ["receipt_code", "sent_at", *(f.label for f in online_form.questions)]
    query = (
        select(Submission.receipt_code, Submission.created_at, Submission.answers)
        .where(Submission.form_id == online_form.id, *chosen.conditions())
        .order_by(Submission.id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(row) -> bytes:
        writer.writerow([safe_cell(v) for v in row])
        data = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return data.encode("utf-8")

    app = current_app._get_current_object()
    agreed = _("Agreed")

    def lines() -> Iterator[bytes]:
        # the response is read after the request has ended: its own app context and session
        with app.app_context():
            yield "\ufeff".encode() + line(header)
            for code, sent, answers in db.session.execute(query).yield_per(1000):
                sent_at = to_tokyo(sent).isoformat(timespec="seconds")
                values = (shown_value(k, answers.get(key), agreed) for key, k in columns)
                yield line([code, sent_at, *values])

    return lines()


# --- retention ------------------------------------------------------------------------------


@jobs.every(3600)
def purge() -> tuple[int, int]:
    """Delete the answers (and files) of forms past their retention, and files no answer took
    (a form checked but never sent); return (answers, files) deleted. The jobs worker runs it
    hourly; ``flask koe purge-forms`` runs it at once."""
    now = utcnow()
    answers = 0
    files_of_deleted: list[dict] = []
    for online_form in db.session.scalars(
        select(OnlineForm).where(
            OnlineForm.retention_days.is_not(None), OnlineForm.closes_at.is_not(None)
        )
    ):
        if as_utc(online_form.closes_at) + timedelta(days=online_form.retention_days) > now:
            continue
        expired = db.session.scalars(
            select(Submission).where(Submission.form_id == online_form.id)
        ).all()
        if not expired:
            continue
        for submission in expired:
            files_of_deleted += [v for v in submission.answers.values() if isinstance(v, dict)]
            db.session.delete(submission)
        answers += len(expired)
        audit.record("form.purge", online_form, details={"answers": len(expired)})
    db.session.commit()
    for record in files_of_deleted:  # once the answers are gone for good
        uploads.remove(record)
    referenced = {
        value["file"]
        for (stored,) in db.session.execute(select(Submission.answers)).yield_per(1000)
        for value in stored.values()
        if isinstance(value, dict) and "file" in value
    }
    files = uploads.remove_orphans(referenced, time.time())
    return answers, files
