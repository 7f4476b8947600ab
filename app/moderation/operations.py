"""Moderation operations: scan what residents write, record it, and the moderators' decisions.

Like every operation, these change objects and write audit entries; the view commits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, delete, func, select, union

import moderation
from app import audit, jobs, signals
from app.auth.models import User
from app.extensions import db
from app.moderation.models import (
    BlockedWord,
    IllegalTransition,
    ItemStatus,
    ModerationBand,
    ModerationItem,
    Report,
    Sanction,
    SanctionKind,
)
from app.notifications import operations as notifications
from app.timeutil import as_utc, utcnow

#: codes a moderator gives when rejecting, with their labels
REJECT_CODES = {
    "personal_data": _l("Personal data"),
    "abuse": _l("Abuse or discrimination"),
    "spam": _l("Spam or advertising"),
    "off_topic": _l("Off topic"),
    "other": _l("Other"),
}
DISPLAY_NAME = "display_name"
#: where moderated texts come from (later issues add opinions, form answers, chat, questions)
SOURCE_LABELS = {
    DISPLAY_NAME: _l("Display name"),
    "opinion": _l("Opinion"),
    "chat": _l("Event chat message"),
    "question": _l("Event question"),
}
#: what a scan found, for moderators
KIND_LABELS = {
    "my_number": _l("My Number"),
    "phone": _l("Phone number"),
    "email": _l("E-mail address"),
    "postal_code": _l("Postal code"),
    "address": _l("Address"),
    "card": _l("Card number"),
    "blocked_word": _l("Blocked word"),
}
#: why the library held a text, for moderators
REASON_LABELS = {
    "reported": _l("Reported by readers"),
    "personal_data": _l("Personal data"),
    "blocked_word_review": _l("Possibly inappropriate words"),
    "burst": _l("Same text from many people"),
    "too_many_links": _l("Many links"),
}
STATUS_LABELS = {
    "published": _l("Published"),
    "held": _l("Waiting for a decision"),
    "rejected": _l("Rejected"),
}
HISTORY_WINDOW = timedelta(hours=24)
BURST_WINDOW = timedelta(minutes=10)
#: the newest recent items read per key of a new text: a campaign of thousands of copies
#: shows itself in its newest ones, and the check stays bounded
CANDIDATES_PER_KEY = 100

_cache: dict[str, object] = {"key": None, "words": None}

#: for each source, how to find the page its texts belong to: a function from source ids to
#: {source id: (title, URL)}; each feature registers its own (moderation imports none)
PLACES: dict[str, Callable[[list[str]], dict[str, tuple[str, str]]]] = {}


def place_of(source: str):
    """Register the function that finds the pages of a source's texts (a decorator)."""

    def register(finder: Callable[[list[str]], dict[str, tuple[str, str]]]):
        PLACES[source] = finder
        return finder

    return register


def places(items: list[ModerationItem]) -> dict[int, tuple[str, str]]:
    """For each item, the title and URL of the page it was written on (its consultation,
    event...), for moderators to read it in its context."""
    by_source: dict[str, list[ModerationItem]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item)
    found: dict[int, tuple[str, str]] = {}
    for source, group in by_source.items():
        finder = PLACES.get(source)
        if finder is None:
            continue
        pages = finder(sorted({item.source_id for item in group}))
        for item in group:
            if item.source_id in pages:
                found[item.id] = pages[item.source_id]
    return found


def blocked(phrase: str) -> bool:
    """Whether ``phrase`` holds a word of the ward's blocked-word list (a theme's name never
    does)."""
    return bool(word_list().find(phrase))


def word_list() -> moderation.WordList:
    """The blocked-word list as staff last edited it, compiled once per change."""
    rows = db.session.execute(
        select(BlockedWord.id, BlockedWord.word, BlockedWord.severity, BlockedWord.exception)
    ).all()
    key = hash(tuple(rows))
    if _cache["key"] != key:
        _cache["words"] = moderation.WordList(
            moderation.Entry(word, severity, exception) for _id, word, severity, exception in rows
        )
        _cache["key"] = key
    return _cache["words"]


def scan_text(text: str, author: User | None = None, *, spam: bool = True) -> moderation.ScanResult:
    """Scan ``text`` with the current word list and, for posts, the author's recent posts."""
    if not spam:
        return moderation.scan(text, words=word_list())
    now = utcnow()
    history = []
    if author is not None and author.id is not None:
        history = [
            moderation.Post(t, as_utc(at), author.id)
            for t, at in db.session.execute(
                select(ModerationItem.original_text, ModerationItem.created_at).where(
                    ModerationItem.author_id == author.id,
                    ModerationItem.created_at >= now - HISTORY_WINDOW,
                )
            )
        ]
    # everyone's recent texts that may be a repeat of this one: those sharing a key of the
    # near-duplicate index (at most CANDIDATES_PER_KEY a key), not all of them
    keys = {f"key{band}": key for band, key in enumerate(moderation.band_keys(text))}
    recent = [
        moderation.Post(t, as_utc(at), a)
        for t, at, a in db.session.execute(_near_statement(), {"since": now - BURST_WINDOW, **keys})
    ]
    return moderation.scan(
        text,
        words=word_list(),
        history=history,
        recent=recent,
        author=author.id if author else None,
        now=now,
    )


@functools.cache
def _near_statement():
    """Everyone's texts since ``:since`` that share a key (``:key0`` …) of the near-duplicate
    index: the newest CANDIDATES_PER_KEY for each key. Built once per process (building it
    took longer than running it), with bound parameters."""
    since = bindparam("since")
    newest = []
    for band in range(moderation.BANDS):
        per_key = (
            select(ModerationBand.item_id)
            .where(
                ModerationBand.key == bindparam(f"key{band}"), ModerationBand.created_at >= since
            )
            .order_by(ModerationBand.created_at.desc())
            .limit(CANDIDATES_PER_KEY)
            .subquery()
        )
        newest.append(select(per_key.c.item_id))
    return select(
        ModerationItem.original_text, ModerationItem.created_at, ModerationItem.author_id
    ).where(ModerationItem.id.in_(union(*newest)), ModerationItem.created_at >= since)


def _index(item: ModerationItem) -> None:
    """Put the item's text into the near-duplicate index (its keys replace any old ones)."""
    created = item.created_at
    if created is None:
        created = item.created_at = utcnow()
    kept = {band.band: band for band in item.bands}
    for number, key in enumerate(moderation.band_keys(item.original_text)):
        band = kept.get(number)
        if band is None:
            item.bands.append(ModerationBand(band=number, key=key, created_at=created))
        else:
            band.key = key


@jobs.every(300)
def forget_old_bands(now=None) -> int:
    """The jobs worker's round: drop the near-duplicate index's keys the burst check no
    longer looks at; return how many."""
    result = db.session.execute(
        delete(ModerationBand).where(ModerationBand.created_at < (now or utcnow()) - BURST_WINDOW)
    )
    db.session.commit()
    return result.rowcount


def record(
    source: str, source_id: object, author: User | None, result: moderation.ScanResult
) -> ModerationItem:
    """Store (or update) the item for a text that was not rejected, held or published."""
    if result.verdict == "reject":
        raise ValueError("a rejected text is returned to its author, not stored")
    item = db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == source, ModerationItem.source_id == str(source_id)
        )
    )
    if item is None:
        item = ModerationItem(source=source, source_id=str(source_id))
        db.session.add(item)
    else:
        resolve_reports(item)  # the reports were about the old text
    item.author = author
    item.original_text = result.text
    item.public_text = moderation.mask(result.text, result.findings)
    item.status = ItemStatus.PUBLISHED if result.verdict == "publish" else ItemStatus.HELD
    item.reasons = list(result.verdict.codes)
    item.findings = [
        {"kind": f.kind.value, "start": f.start, "end": f.end, "detail": f.detail}
        for f in result.findings
    ]
    item.updated_at = utcnow()
    item.decided_at = item.decided_by = item.decision_code = None
    item.public_edited = False
    _index(item)
    return item


@place_of(DISPLAY_NAME)
def _people(source_ids: list[str]) -> dict[str, tuple[str, str]]:
    """A display name's page is its person's public page."""
    from flask import url_for

    return {
        i: (str(_l("Public profile")), url_for("main.person", user_id=int(i)))
        for i in source_ids
        if i.isdigit()
    }


def forget_author(user: User) -> None:
    """Delete the texts that identify a deleted account (its display name)."""
    db.session.execute(
        delete(ModerationItem).where(
            ModerationItem.author_id == user.id, ModerationItem.source == DISPLAY_NAME
        )
    )


def texts_of(user: User) -> list[ModerationItem]:
    """The moderated texts a person wrote, for their data export."""
    return list(
        db.session.scalars(
            select(ModerationItem)
            .where(ModerationItem.author_id == user.id)
            .order_by(ModerationItem.created_at)
        )
    )


def _decided(item: ModerationItem, moderator: User) -> None:
    item.decided_at = utcnow()
    item.decided_by = moderator


def approve(item: ModerationItem, moderator: User) -> None:
    item.approve()
    _decided(item, moderator)
    resolve_reports(item)
    audit.record("moderation.approve", item, actor=moderator, details={"source": item.source})
    signals.text_decided.send(item, decision="approve")


def reject(item: ModerationItem, moderator: User, code: str) -> None:
    _refuse(item, moderator, code, item.reject, "moderation.reject", "text_rejected")
    signals.text_decided.send(item, decision="reject")


def take_down(item: ModerationItem, moderator: User, code: str) -> None:
    """Take a published text down: it leaves every public place, and its author is told why."""
    _refuse(item, moderator, code, item.take_down, "moderation.take_down", "text_taken_down")
    signals.text_decided.send(item, decision="take_down")


def _refuse(item: ModerationItem, moderator: User, code: str, move, action: str, kind: str) -> None:
    """Refuse a text by ``move`` (reject, take down) for the reason ``code``: reports on it
    resolved, the audit entry ``action``, and its author told in the site (``kind``); their
    pages show the reason and what to do."""
    if code not in REJECT_CODES:
        raise ValueError(f"unknown reason code {code!r}")
    move(code)
    _decided(item, moderator)
    resolve_reports(item)
    audit.record(action, item, actor=moderator, details={"source": item.source, "code": code})
    if item.author_id is not None:
        notifications.notify(
            [item.author_id],
            kind,
            "/consultations/my-voice" if item.source == "opinion" else "/account/",
            source=item.source,
            code=code,
        )


def edit_public(item: ModerationItem, moderator: User, public_text: str) -> None:
    """Replace the public copy (to mask more, say); personal data in it is masked again."""
    item.public_text = moderation.mask(public_text)
    item.public_edited = True
    audit.record("moderation.edit", item, actor=moderator, details={"source": item.source})


def decide_many(
    items: list[ModerationItem], moderator: User, action: str, code: str | None = None
) -> tuple[int, int]:
    """Apply one decision to several items; return (done, skipped as not allowed)."""
    done = skipped = 0
    for item in items:
        try:
            if action == "approve":
                approve(item, moderator)
            else:
                reject(item, moderator, code or "other")
        except IllegalTransition:
            skipped += 1
        else:
            done += 1
    return done, skipped


def add_word(word: str, severity: str, exception: bool, editor: User) -> BlockedWord | None:
    """Add an entry to the blocked-word list; None when it is already there."""
    existing = db.session.scalar(
        select(BlockedWord).where(BlockedWord.word == word, BlockedWord.exception == exception)
    )
    if existing is not None:
        return None
    entry = BlockedWord(word=word, severity=severity, exception=exception, created_by_id=editor.id)
    db.session.add(entry)
    db.session.flush()
    audit.record(
        "moderation.word_add",
        entry,
        actor=editor,
        details={"word": word, "severity": severity, "exception": exception},
    )
    return entry


def remove_word(entry: BlockedWord, editor: User) -> None:
    audit.record(
        "moderation.word_remove",
        entry,
        actor=editor,
        details={"word": entry.word, "exception": entry.exception},
    )
    db.session.delete(entry)


def highlight(item: ModerationItem) -> list[tuple[str, str | None]]:
    """Split the original text into (text, finding kind or None) segments for display."""
    text = item.original_text
    segments: list[tuple[str, str | None]] = []
    position = 0
    for finding in sorted(item.findings, key=lambda f: f["start"]):
        start, end = finding["start"], finding["end"]
        if start < position or end > len(text):
            continue
        if start > position:
            segments.append((text[position:start], None))
        segments.append((text[start:end], finding["kind"]))
        position = end
    if position < len(text):
        segments.append((text[position:], None))
    return segments


# --- reports ---------------------------------------------------------------------------------

#: why a reader reports an item
REPORT_REASONS = {
    "personal_data": _l("It shows someone's personal data"),
    "abuse": _l("It is abusive or discriminatory"),
    "spam": _l("It is spam or advertising"),
    "other": _l("Something else breaks the rules"),
}


def report(item: ModerationItem, reporter: User, reason: str, hide_after: int) -> bool:
    """Record a report; at ``hide_after`` open reports the item is hidden until a decision.

    Return False when this person already reported the item (a report counts once).
    """
    if reason not in REPORT_REASONS:
        raise ValueError(f"unknown report reason {reason!r}")
    already = db.session.scalar(
        select(Report.id).where(Report.item_id == item.id, Report.reporter_id == reporter.id)
    )
    if already is not None:
        return False
    db.session.add(Report(item_id=item.id, reporter_id=reporter.id, reason=reason))
    item.report_count += 1
    if item.status == ItemStatus.PUBLISHED and item.report_count >= hide_after:
        item.status = ItemStatus.HELD
        if "reported" not in item.reasons:
            item.reasons = [*item.reasons, "reported"]
        audit.record(
            "moderation.hidden_by_reports",
            item,
            actor=reporter,
            details={"reports": item.report_count},
        )
    return True


def resolve_reports(item: ModerationItem) -> None:
    """A decision answers every open report of the item."""
    now = utcnow()
    for open_report in db.session.scalars(
        select(Report).where(Report.item_id == item.id, Report.resolved_at.is_(None))
    ):
        open_report.resolved_at = now
    item.report_count = 0


# --- sanctions -------------------------------------------------------------------------------

SANCTION_DAYS = (1, 3, 7, 30, 90, 365)


@dataclass(frozen=True)
class PostingBlock:
    """Why a person may not write texts others read now: ``unverified`` (the e-mail address
    is not confirmed) or ``muted`` (a sanction in force, with its end and reason)."""

    kind: str
    email: str  # where the confirmation link was sent
    sanction: Sanction | None = None


def posting_block(user: User | None) -> PostingBlock | None:
    """What stops ``user`` from posting (opinions, chat, questions) now, or None. Pages show it
    above the form, instead of the form, so that nobody types a text that will be refused."""
    if user is None:
        return None
    if not user.is_verified:
        return PostingBlock("unverified", user.email)
    sanction = active_sanction(user)
    return PostingBlock("muted", user.email, sanction) if sanction is not None else None


def active_sanction(user: User, kind: SanctionKind | None = None) -> Sanction | None:
    """The sanction in force for ``user`` now (a ban counts as a mute too), or None."""
    now = utcnow()
    query = select(Sanction).where(
        Sanction.user_id == user.id,
        Sanction.lifted_at.is_(None),
        Sanction.starts_at <= now,
        Sanction.ends_at > now,
    )
    if kind == SanctionKind.BAN:
        query = query.where(Sanction.kind == SanctionKind.BAN)
    return db.session.scalar(query.order_by(Sanction.ends_at.desc()))


def sanction(user: User, moderator: User, kind: SanctionKind, days: int, reason: str) -> Sanction:
    """Mute or ban ``user`` for ``days``; a ban also ends every session of the user."""
    from app.auth.sessions import end_all_sessions

    entry = Sanction(
        user=user,
        kind=kind,
        reason=reason,
        starts_at=utcnow(),
        ends_at=utcnow() + timedelta(days=days),
        created_by=moderator,
    )
    db.session.add(entry)
    db.session.flush()
    if kind == SanctionKind.BAN:
        end_all_sessions(user)
    audit.record(
        f"moderation.{kind.value}",
        user,
        actor=moderator,
        details={"days": days, "sanction": entry.id},
    )
    return entry


def sanctions_of(user: User) -> list[Sanction]:
    return list(
        db.session.scalars(
            select(Sanction).where(Sanction.user_id == user.id).order_by(Sanction.starts_at)
        )
    )


def lift(entry: Sanction, moderator: User) -> None:
    entry.lifted_at = utcnow()
    audit.record("moderation.lift", entry.user, actor=moderator, details={"sanction": entry.id})


# --- statistics ------------------------------------------------------------------------------


def statistics() -> dict:
    """Counts by reason and decision, open reports, and the median time to a decision."""
    rows = db.session.execute(
        select(
            ModerationItem.status,
            ModerationItem.reasons,
            ModerationItem.decision_code,
            ModerationItem.created_at,
            ModerationItem.decided_at,
        )
    ).all()
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    by_code: dict[str, int] = {}
    waits = []
    for status, reasons, code, created, decided in rows:
        by_status[status.value] = by_status.get(status.value, 0) + 1
        for reason in reasons or []:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        if code:
            by_code[code] = by_code.get(code, 0) + 1
        if decided is not None:
            waits.append((as_utc(decided) - as_utc(created)).total_seconds())
    reports = db.session.scalar(select(func.count()).select_from(Report)) or 0
    return {
        "total": len(rows),
        "by_status": by_status,
        "by_reason": by_reason,
        "by_code": by_code,
        "reports": reports,
        "decided": len(waits),
        "median_hours": round(median(waits) / 3600, 1) if waits else None,
    }


def display_name_item(user: User) -> ModerationItem | None:
    return db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == DISPLAY_NAME, ModerationItem.source_id == str(user.id)
        )
    )


def public_names(users: list[User]) -> dict[int, str | None]:
    """The display names others may see, by user id, in one query.

    None for a name still held or refused by moderation (the page shows "anonymous" then);
    the name itself for an account from before names were moderated.
    """
    if not users:
        return {}
    items = {
        item.source_id: item
        for item in db.session.scalars(
            select(ModerationItem).where(
                ModerationItem.source == DISPLAY_NAME,
                ModerationItem.source_id.in_([str(u.id) for u in users]),
            )
        )
    }
    names: dict[int, str | None] = {}
    for user in users:
        item = items.get(str(user.id))
        names[user.id] = shown_name(
            user.display_name,
            item.status if item else None,
            item.public_text if item else None,
        )
    return names


def shown_name(display_name: str, status: ItemStatus | None, public_text: str | None) -> str | None:
    """What others see of a display name, given its moderation item's status and public text
    (None: no item, an account from before names were moderated): the published copy, the
    name itself without an item, nothing while it is held or refused."""
    if status is None:
        return display_name
    return public_text if status == ItemStatus.PUBLISHED else None


def public_name(user: User) -> str:
    """The display name others may see: the public copy once published, else a neutral name."""
    item = display_name_item(user)
    if item is None or item.status == ItemStatus.PUBLISHED:
        return item.public_text if item is not None else user.display_name
    return str(_l("Resident %(id)d", id=user.id))


def _refusal_parts(p: dict) -> dict:
    label = SOURCE_LABELS.get(p.get("source"))
    return {
        "what": str(label).lower() if label else gettext("text"),
        "reason": REJECT_CODES.get(p.get("code"), REJECT_CODES["other"]),
    }


@notifications.reads("text_rejected")
def _rejected_text(p: dict) -> str:
    return gettext(
        "Your %(what)s was not published (%(reason)s). See why and what you can do.",
        **_refusal_parts(p),
    )


@notifications.reads("text_taken_down")
def _taken_down_text(p: dict) -> str:
    return gettext(
        "Your %(what)s was taken down by a moderator (%(reason)s). See why and what you can do.",
        **_refusal_parts(p),
    )
