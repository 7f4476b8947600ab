"""Consultation operations: drafts, state moves, opinions with receipts. They never commit."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from app import audit, signals, writer_turn
from app.auth.models import User
from app.consultations import listing
from app.consultations.models import (
    Channel,
    Consultation,
    IllegalMove,
    Opinion,
    Reaction,
    ReactionKind,
    Section,
    State,
)
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem
from app.search import matches
from app.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from moderation import ScanResult

OPINION = listing.OPINION  # the moderation source of opinions


@moderation_ops.place_of(OPINION)
def _opinion_pages(source_ids: list[str]) -> dict[str, tuple[str, str]]:
    """An opinion's page is its consultation's (for moderators reading it in context)."""
    from flask import url_for

    rows = db.session.execute(
        select(Opinion.id, Consultation.id, Consultation.title)
        .join(Consultation, Consultation.id == Opinion.consultation_id)
        .where(Opinion.id.in_([int(i) for i in source_ids if i.isdigit()]))
    )
    return {
        str(opinion_id): (title, url_for("consultations.show", consultation_id=consultation_id))
        for opinion_id, consultation_id, title in rows
    }


RECEIPT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud at a counter
# A heading line starts with # (or the full-width ＃); the heading keeps what was typed.
_HEADING = re.compile(r"^\s*[#＃]+\s*(.+?)\s*$")
HEADING_MAX = 200


def parse_draft(text: str) -> list[tuple[str, str]]:
    """Split a draft into (heading, body) sections; a line starting with # starts a section."""
    sections: list[tuple[str, list[str]]] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        match = _HEADING.match(line)
        if match:
            sections.append((match.group(1), []))
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            sections.append(("", [line]))
    return [(heading, "\n".join(body).strip()) for heading, body in sections]


def draft_text(consultation: Consultation) -> str:
    """The sections joined back into the text staff edit."""
    parts = []
    for section in consultation.sections:
        parts.append(f"# {section.heading}\n{section.body}" if section.heading else section.body)
    return "\n\n".join(parts)


@dataclass
class ConsultationData:
    """What staff write; ``None`` for the period or the draft keeps what the consultation has
    (they are fixed once it is public or has run, see ``fixed_fields``)."""

    title: str
    summary: str
    department: str
    contact: str
    topics: str
    area: str | None
    opens_at: datetime | None
    closes_at: datetime | None
    draft: str | None


def fixed_fields(consultation: Consultation | None) -> set[str]:
    """What can no longer change: the draft once residents can read it, the opening time once
    it has opened, the closing time once it has closed (a later one would reopen it)."""
    if consultation is None or consultation.state == State.DRAFT:
        return set()
    fixed = {"draft"}
    if not consultation.opens_later():
        fixed.add("opens_at")
    if consultation.current_state() in (State.CLOSED, State.PUBLISHED):
        fixed.add("closes_at")
    return fixed


def _minute(value: datetime) -> datetime:
    return as_utc(value).replace(second=0, microsecond=0)


def _changes(consultation: Consultation, data: ConsultationData) -> set[str]:
    """The fields of ``data`` that would change the period or the draft (times are written to
    the minute: the same minute is no change)."""
    changed = set()
    for name in ("opens_at", "closes_at"):
        value = getattr(data, name)
        if value is not None and _minute(value) != _minute(getattr(consultation, name)):
            changed.add(name)
    if data.draft is not None and parse_draft(data.draft) != [
        (s.heading, s.body) for s in consultation.sections
    ]:
        changed.add("draft")
    return changed


def save_consultation(
    consultation: Consultation | None, data: ConsultationData, staff: User
) -> Consultation:
    """Create a consultation or update one; refuse a change to what is fixed (``fixed_fields``)
    rather than drop it."""
    created = consultation is None
    if created:
        if data.opens_at is None or data.closes_at is None or data.draft is None:
            raise ValueError("a new consultation needs its period and its draft")
        consultation = Consultation(created_by_id=staff.id, state=State.DRAFT)
        db.session.add(consultation)
    changed = {"opens_at", "closes_at", "draft"} if created else _changes(consultation, data)
    refused = changed & fixed_fields(consultation)
    if refused:
        raise IllegalMove(f"fixed now: {', '.join(sorted(refused))}")
    for name in ("title", "summary", "department", "contact", "topics", "area"):
        setattr(consultation, name, getattr(data, name))
    if "opens_at" in changed:
        consultation.opens_at = data.opens_at
    if "closes_at" in changed:
        consultation.closes_at = data.closes_at
    consultation.updated_at = utcnow()
    if "draft" in changed:
        consultation.sections.clear()
        db.session.flush()
        for position, (heading, body) in enumerate(parse_draft(data.draft), start=1):
            consultation.sections.append(Section(position=position, heading=heading, body=body))
    db.session.flush()
    audit.record("consultation.create" if created else "consultation.update", consultation)
    return consultation


def move(consultation: Consultation, target: State, staff: User, at_once: bool = False) -> None:
    """Release, open or close by hand (``at_once``: open now, not at the opening time);
    results are published by app.consultations.results.publish."""
    if target == State.PUBLISHED:
        raise IllegalMove("results are published with their checks")
    before = consultation.current_state()
    consultation.move(target, at_once=at_once)
    details = {"from": before.value, "to": target.value}
    if target == State.OPEN:
        details["opens_at"] = consultation.opens_at.isoformat()
    audit.record("consultation.state", consultation, actor=staff, details=details)


def visible_consultations(query_text: str = "", include_drafts: bool = False):
    """Consultations for the list, newest first; the search finds each word of the query in
    the title, summary, topics or draft, written in kanji, kana or as read (app.search)."""
    query = select(Consultation).order_by(Consultation.opens_at.desc(), Consultation.id.desc())
    if not include_drafts:
        query = query.where(Consultation.state != State.DRAFT)
    condition = matches(Consultation.search_key, query_text)
    return query if condition is None else query.where(condition)


def open_now(limit: int, now: datetime | None = None) -> list[Consultation]:
    """Consultations taking opinions now, the soonest to close first (for the home page)."""
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Consultation)
            .where(
                Consultation.state == State.OPEN,
                Consultation.opens_at <= now,
                Consultation.closes_at > now,
            )
            .order_by(Consultation.closes_at, Consultation.id)
            .limit(limit)
        )
    )


def new_receipt_code() -> str:
    """An unguessable receipt code (60 bits), grouped for reading: K7Q2-M9XD-4HTP."""
    raw = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_receipt(code: str) -> str:
    """Accept what people type: full-width, lower case, spaces or no hyphens."""
    raw = re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", code).upper())[:12]
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}" if len(raw) == 12 else ""


def submit_opinion(
    consultation: Consultation,
    author: User | None,
    scan: ScanResult,
    *,
    section: Section | None = None,
    show_name: bool = False,
    age_band: str | None = None,
    area: str | None = None,
    idempotency_key: str | None = None,
    channel: Channel = Channel.WEB,
    received_at: datetime | None = None,
) -> tuple[Opinion, bool]:
    """Store an opinion with its receipt; return (opinion, created).

    The same author and idempotency key return the opinion already stored (a double submit).
    ``received_at`` is the moment the caller checked that the consultation was open.
    """
    existing = find_by_key(author, idempotency_key)
    if existing is not None:
        return existing, False
    opinion = Opinion(
        consultation=consultation,
        section=section,
        author=author,
        channel=channel,
        receipt_code=new_receipt_code(),
        show_name=show_name and author is not None,
        age_band=age_band,
        area=area,
        idempotency_key=idempotency_key,
        created_at=received_at or utcnow(),
    )
    db.session.add(opinion)
    db.session.flush()
    moderation_ops.record(OPINION, opinion.id, author, scan)
    signals.opinion_stored.send(consultation, opinion=opinion)  # themes place it
    return opinion, True


def hold_key(author: User, idempotency_key: str | None) -> None:
    """Make checking a form's key and storing its opinion one step, until the commit.

    A second request with the same key (a double click, a retry while the first is still
    running) waits here until the first has committed, then finds its opinion: it can never
    be told "closed" while the first is about to be stored. PostgreSQL: an advisory lock on
    (author, key) for the rest of the transaction. SQLite has one writer at a time anyway:
    the transaction starts as the writer (BEGIN IMMEDIATE), in turn (``app.writer_turn``).
    """
    if not idempotency_key:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:author, hashtext(:key))"),
            {"author": author.id, "key": idempotency_key},
        )
    elif (
        connection.dialect.name == "sqlite"
        and not connection.connection.dbapi_connection.in_transaction
    ):
        writer_turn.begin_immediate(connection)


def find_by_key(author: User | None, idempotency_key: str | None) -> Opinion | None:
    """The opinion this author already sent with this form (a double submit), if any."""
    if author is None or not idempotency_key:
        return None
    return db.session.scalar(
        select(Opinion).where(
            Opinion.author_id == author.id, Opinion.idempotency_key == idempotency_key
        )
    )


def item_of(opinion: Opinion) -> ModerationItem | None:
    return db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == OPINION, ModerationItem.source_id == str(opinion.id)
        )
    )


def find_by_receipt(code: str) -> Opinion | None:
    normalised = normalise_receipt(code)
    if not normalised:
        return None
    return db.session.scalar(select(Opinion).where(Opinion.receipt_code == normalised))


def published_query(consultation: Consultation):
    """Opinions others may read: published by moderation and not withdrawn, oldest first."""
    return (
        select(Opinion)
        .where(Opinion.consultation_id == consultation.id, Opinion.listed.is_(True))
        .order_by(Opinion.created_at, Opinion.id)
        # sections come from the consultation's own (loaded once, found in the session)
        .options(selectinload(Opinion.author))
    )


def with_items(opinions: list[Opinion]) -> list[tuple[Opinion, ModerationItem]]:
    """Pair opinions with their moderation items (the public text) in one query."""
    items = {
        item.source_id: item
        for item in db.session.scalars(
            select(ModerationItem).where(
                ModerationItem.source == OPINION,
                ModerationItem.source_id.in_([str(o.id) for o in opinions]),
            )
        )
    }
    return [(o, items[str(o.id)]) for o in opinions if str(o.id) in items]


def published_opinions(consultation: Consultation) -> list[tuple[Opinion, ModerationItem]]:
    """Every published opinion of a consultation with its item (pages use published_query)."""
    return with_items(list(db.session.scalars(published_query(consultation))))


# --- reactions, editing, withdrawing, my voice -----------------------------------------------


class NotAllowed(Exception):
    """The person may not do this with this opinion now."""


def react(opinion: Opinion, user: User, kind: ReactionKind) -> None:
    """Set the person's reaction to a published opinion (one per person, changeable)."""
    if opinion.author_id == user.id or opinion.withdrawn_at is not None:
        raise NotAllowed("own or withdrawn opinion")
    item = item_of(opinion)
    if item is None or item.status != ItemStatus.PUBLISHED:
        raise NotAllowed("not published")
    reaction = db.session.scalar(
        select(Reaction).where(Reaction.opinion_id == opinion.id, Reaction.user_id == user.id)
    )
    if reaction is None:
        db.session.add(Reaction(opinion_id=opinion.id, user_id=user.id, kind=kind))
    else:
        reaction.kind = kind
        reaction.updated_at = utcnow()


def reaction_counts(opinion_ids: list[int]) -> dict[int, dict[str, int]]:
    """Reactions per opinion: {opinion id: {"agree": n, ...}}."""
    counts: dict[int, dict[str, int]] = {}
    rows = db.session.execute(
        select(Reaction.opinion_id, Reaction.kind, func.count())
        .where(Reaction.opinion_id.in_(opinion_ids))
        .group_by(Reaction.opinion_id, Reaction.kind)
    )
    for opinion_id, kind, n in rows:
        counts.setdefault(opinion_id, {})[kind.value] = n
    return counts


def my_reactions(opinion_ids: list[int], user: User) -> dict[int, str]:
    rows = db.session.execute(
        select(Reaction.opinion_id, Reaction.kind).where(
            Reaction.opinion_id.in_(opinion_ids), Reaction.user_id == user.id
        )
    )
    return {opinion_id: kind.value for opinion_id, kind in rows}


def _own_and_open(opinion: Opinion, user: User) -> None:
    if opinion.author_id != user.id:
        raise NotAllowed("not the author")
    if opinion.withdrawn_at is not None or not opinion.consultation.accepts_opinions():
        raise NotAllowed("withdrawn or closed")


def edit_opinion(opinion: Opinion, user: User, scan: ScanResult) -> None:
    """Replace the text of an own opinion while the consultation is open; it is checked again."""
    _own_and_open(opinion, user)
    moderation_ops.record(OPINION, opinion.id, user, scan)


def withdraw_opinion(opinion: Opinion, user: User) -> None:
    """Withdraw an own opinion while the consultation is open; it leaves the public list."""
    _own_and_open(opinion, user)
    opinion.withdrawn_at = utcnow()


def my_opinions(user: User) -> list[tuple[Opinion, ModerationItem | None]]:
    """Everything the person sent, newest first, with its moderation state."""
    opinions = db.session.scalars(
        select(Opinion).where(Opinion.author_id == user.id).order_by(Opinion.created_at.desc())
    ).all()
    return [(opinion, item_of(opinion)) for opinion in opinions]


# --- opinions that arrived on paper, by fax, at the counter or by e-mail ----------------------

#: where staff may enter opinions: while open, and after closing (post arrives late)
ENTRY_STATES = {State.OPEN, State.CLOSED}


def enter_opinion(
    consultation: Consultation,
    staff: User,
    scan: ScanResult,
    *,
    channel: Channel,
    section: Section | None = None,
    received_at: datetime | None = None,
    age_band: str | None = None,
    area: str | None = None,
) -> Opinion:
    """Record an opinion a resident sent without Koe; it passes the same moderation."""
    if consultation.current_state() not in ENTRY_STATES:
        raise NotAllowed("the consultation does not take opinions now")
    if channel == Channel.WEB:
        raise ValueError("web opinions are sent by residents themselves")
    opinion, _created = submit_opinion(
        consultation, None, scan, section=section, age_band=age_band, area=area, channel=channel
    )
    if received_at is not None:
        opinion.created_at = received_at
    audit.record(
        "opinion.enter",
        opinion,
        actor=staff,
        details={"consultation": consultation.id, "channel": channel.value},
    )
    return opinion
