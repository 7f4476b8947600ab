"""After closing: the ward's view, dispositions, the final text, and the published results.

Japanese public-comment practice (行政手続法 arts. 42-43) asks the ward to consider every
opinion by its content and to publish the opinions (or a summary of them), its view on them and
what changed. Here each opinion links to an answer (the ward's view, on one opinion or a group)
and carries a disposition with its reason; each section of the draft gets its final text.
Operations never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from diff_match_patch import diff_match_patch
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from app import audit, jobs
from app.auth.models import User
from app.consultations.models import (
    CHANGES_TEXT,
    Answer,
    Consultation,
    Disposition,
    Follow,
    Opinion,
    OpinionCopy,
    Section,
    State,
)
from app.consultations.operations import OPINION, NotAllowed
from app.extensions import db
from app.moderation.models import ItemStatus, ModerationItem
from app.notifications import operations as notifications
from app.timeutil import utcnow

ROWS_PER_PAGE = 50

ITEM_JOIN = and_(
    ModerationItem.source == OPINION,
    ModerationItem.source_id == func.cast(Opinion.id, db.String),
)


def considered_query(consultation: Consultation):
    """The opinions the ward must answer: not withdrawn and not refused by moderation."""
    return (
        select(Opinion)
        .join(ModerationItem, ITEM_JOIN)
        .where(
            Opinion.consultation_id == consultation.id,
            Opinion.withdrawn_at.is_(None),
            ModerationItem.status != ItemStatus.REJECTED,
        )
    )


def review_query(
    consultation: Consultation,
    section_id: int | None,
    unanswered: bool,
    members=None,
):
    """Opinions for the staff review page, in the order they arrived; with ``members`` (a
    select of opinion ids: ``app.themes.operations.member_ids``), only those, to answer a
    theme (or its core) at once."""
    query = considered_query(consultation).order_by(Opinion.created_at, Opinion.id)
    if members is not None:
        query = query.where(Opinion.id.in_(members))
    if section_id == 0:
        query = query.where(Opinion.section_id.is_(None))
    elif section_id:
        query = query.where(Opinion.section_id == section_id)
    if unanswered:
        query = query.where(or_(Opinion.answer_id.is_(None), Opinion.disposition.is_(None)))
    return query.options(selectinload(Opinion.section), selectinload(Opinion.answer))


def editable(consultation: Consultation) -> bool:
    """Answers and the final text are written after closing and frozen once published."""
    return consultation.current_state() == State.CLOSED


def _check_editable(consultation: Consultation) -> None:
    if not editable(consultation):
        raise NotAllowed("answers are written between closing and publishing")


def answer_opinions(
    consultation: Consultation,
    staff: User,
    opinion_ids: list[int],
    *,
    disposition: Disposition,
    reason: str,
    answer: Answer | None = None,
    summary: str = "",
    body: str = "",
) -> Answer:
    """Give the opinions one answer (an existing one, or a new one from ``body``) and a
    disposition with its reason. Opinions of other consultations are refused."""
    _check_editable(consultation)
    opinions = list(
        db.session.scalars(considered_query(consultation).where(Opinion.id.in_(opinion_ids)))
    )
    if not opinions or len(opinions) != len(set(opinion_ids)):
        raise NotAllowed("an opinion is not one of this consultation's")
    if answer is None:
        answer = Answer(
            consultation=consultation, summary=summary, body=body, created_by_id=staff.id
        )
        db.session.add(answer)
    elif answer.consultation_id != consultation.id:
        raise NotAllowed("the answer belongs to another consultation")
    for opinion in opinions:
        opinion.answer = answer
        opinion.disposition = disposition
        opinion.disposition_reason = reason
    db.session.flush()
    _tidy(consultation)
    audit.record(
        "consultation.answer",
        answer,
        actor=staff,
        details={
            "consultation": consultation.id,
            "opinions": len(opinions),
            "disposition": disposition.value,
        },
    )
    return answer


def update_answer(answer: Answer, staff: User, summary: str, body: str) -> None:
    _check_editable(answer.consultation)
    answer.summary, answer.body, answer.updated_at = summary, body, utcnow()
    audit.record("consultation.answer_edit", answer, actor=staff)


def _tidy(consultation: Consultation) -> None:
    """Drop answers no opinion uses any more and number the rest in order of the draft.

    An answer's number follows the first section its opinions are about (the whole draft
    first), then the order in which it was written.
    """
    first_position = (
        select(Opinion.answer_id, func.min(func.coalesce(Section.position, 0)).label("position"))
        .outerjoin(Section, Section.id == Opinion.section_id)
        .where(Opinion.consultation_id == consultation.id, Opinion.answer_id.is_not(None))
        .group_by(Opinion.answer_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Answer, first_position.c.position)
        .outerjoin(first_position, first_position.c.answer_id == Answer.id)
        .where(Answer.consultation_id == consultation.id)
        .order_by(first_position.c.position, Answer.id)
    ).all()
    number = 0
    for answer, position in rows:
        if position is None:
            db.session.delete(answer)
        else:
            number += 1
            answer.number = number


def answers(consultation: Consultation) -> list[Answer]:
    return list(
        db.session.scalars(
            select(Answer)
            .where(Answer.consultation_id == consultation.id)
            .order_by(Answer.number, Answer.id)
        )
    )


def save_final_text(consultation: Consultation, staff: User, texts: dict[int, str]) -> int:
    """Set the final text of each section (by section id); return how many sections changed."""
    _check_editable(consultation)
    changed = 0
    for section in consultation.sections:
        if section.id in texts:
            final = texts[section.id].strip()
            section.final_body = None if final == section.body.strip() else final
            changed += section.final_body is not None
    audit.record("consultation.final_text", consultation, actor=staff, details={"changed": changed})
    return changed


# --- readiness and publishing ------------------------------------------------------------------


@dataclass
class Readiness:
    considered: int = 0
    held: int = 0
    without_answer: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not (self.held or self.without_answer)


def readiness(consultation: Consultation) -> Readiness:
    """What stands between the consultation and its published results."""
    considered = considered_query(consultation).subquery()
    total = db.session.scalar(select(func.count()).select_from(considered))
    held = db.session.scalar(
        select(func.count())
        .select_from(Opinion)
        .join(ModerationItem, ITEM_JOIN)
        .where(
            Opinion.consultation_id == consultation.id,
            Opinion.withdrawn_at.is_(None),
            ModerationItem.status == ItemStatus.HELD,
        )
    )
    without = db.session.scalar(
        select(func.count())
        .select_from(considered)
        .where(or_(considered.c.answer_id.is_(None), considered.c.disposition.is_(None)))
    )
    return Readiness(considered=total, held=held, without_answer=without)


class NotReady(Exception):
    def __init__(self, readiness: Readiness):
        super().__init__("results not ready")
        self.readiness = readiness


def publish(consultation: Consultation, staff: User) -> int:
    """Publish the results: refuse while an opinion waits for moderation or for its answer.

    Every submitter gets a notification linking to their own line, followers one to the
    results; the e-mails go out as jobs (``answer_mail``, ``results_mail``) committed with the
    publication, so none is lost and the request stays short. Returns how many people are told.
    """
    state = readiness(consultation)
    if consultation.current_state() != State.CLOSED or not state.ready:
        raise NotReady(state)
    before = consultation.current_state()
    consultation.move(State.PUBLISHED)
    consultation.results_published_at = utcnow()
    audit.record(
        "consultation.state",
        consultation,
        actor=staff,
        details={"from": before.value, "to": State.PUBLISHED.value, "opinions": state.considered},
    )
    submitted = db.session.execute(
        considered_query(consultation)
        .where(Opinion.author_id.is_not(None))
        .order_by(Opinion.id)
        .with_only_columns(Opinion.id, Opinion.author_id, Opinion.receipt_code)
    ).all()
    notifications.notify_each(
        "answer_published",
        [
            (
                author_id,
                f"/consultations/{consultation.id}/results/opinions/{opinion_id}",
                {"code": code, "title": consultation.title},
            )
            for opinion_id, author_id, code in submitted
        ],
    )
    jobs.enqueue_many("answer_mail", [{"opinion_id": row.id} for row in submitted])
    told = {row.author_id for row in submitted}
    followers = [
        user_id
        for user_id in db.session.scalars(
            select(Follow.user_id).where(Follow.consultation_id == consultation.id)
        )
        if user_id not in told
    ]
    notifications.notify(
        followers,
        "results_published",
        f"/consultations/{consultation.id}/results",
        title=consultation.title,
    )
    jobs.enqueue_many(
        "results_mail",
        [{"user_id": user_id, "consultation_id": consultation.id} for user_id in followers],
    )
    return len(told) + len(followers)


# --- the published results ----------------------------------------------------------------------


def _folded():
    """A near-copy (同趣旨) whose first opinion is in the table with the same answer: it is
    counted on that line instead of having its own."""
    root = aliased(Opinion)
    return (
        select(OpinionCopy.opinion_id)
        .join(root, root.id == OpinionCopy.copy_of_id)
        .where(
            OpinionCopy.opinion_id == Opinion.id,
            root.listed.is_(True),
            root.answer_id == Opinion.answer_id,
        )
        .exists()
    )


def table_query(consultation: Consultation, fold: bool = True):
    """The rows of the published table: answered opinions, by answer number then arrival;
    with ``fold``, near-copies with the same answer as the opinion they copy are counted on
    its line (the page); without, every opinion has its own (open data)."""
    query = (
        considered_query(consultation)
        .join(Answer, Answer.id == Opinion.answer_id)
        .where(ModerationItem.status == ItemStatus.PUBLISHED)
        .order_by(Answer.number, Opinion.id)
        .options(selectinload(Opinion.section), selectinload(Opinion.answer))
    )
    return query.where(~_folded()) if fold else query


def same_counts(opinions: list[Opinion]) -> dict[int, int]:
    """For the lines of a table page: how many published near-copies with the same answer
    each line stands for (同趣旨 N件)."""
    if not opinions:
        return {}
    root, copy = aliased(Opinion), aliased(Opinion)
    rows = db.session.execute(
        select(OpinionCopy.copy_of_id, func.count())
        .join(copy, copy.id == OpinionCopy.opinion_id)
        .join(root, root.id == OpinionCopy.copy_of_id)
        .where(
            OpinionCopy.copy_of_id.in_([o.id for o in opinions]),
            copy.listed.is_(True),
            copy.answer_id == root.answer_id,
        )
        .group_by(OpinionCopy.copy_of_id)
    )
    return dict(rows.all())


def line_page(consultation: Consultation, opinion: Opinion) -> int | None:
    """The page of the results table that holds this opinion's line (for a near-copy counted
    on the line of the opinion it copies, that line), or None if it has none."""
    if opinion.answer is None or opinion.consultation_id != consultation.id:
        return None
    line = line_of(opinion)
    if line is not opinion:
        return line_page(consultation, line)
    number = opinion.answer.number or 0
    if db.session.scalar(table_query(consultation).where(Opinion.id == opinion.id)) is None:
        return None
    before = db.session.scalar(
        select(func.count()).select_from(
            table_query(consultation)
            .where(
                or_(
                    Answer.number < number,
                    and_(Answer.number == number, Opinion.id < opinion.id),
                )
            )
            .order_by(None)
            .subquery()
        )
    )
    return before // ROWS_PER_PAGE + 1


def line_of(opinion: Opinion) -> Opinion:
    """The opinion whose line in the results table holds this one: itself, or the published
    opinion it copies when both have the same answer."""
    copy_of = db.session.scalar(
        select(OpinionCopy.copy_of_id).where(OpinionCopy.opinion_id == opinion.id)
    )
    if copy_of is None:
        return opinion
    root = db.session.get(Opinion, copy_of)
    if root is not None and root.listed and root.answer_id == opinion.answer_id:
        return root
    return opinion


@dataclass
class Group:
    """Consecutive rows of one page that share an answer."""

    answer: Answer
    rows: list[tuple[Opinion, ModerationItem]]


def group_rows(rows: list[tuple[Opinion, ModerationItem]]) -> list[Group]:
    groups: list[Group] = []
    for opinion, item in rows:
        if groups and groups[-1].answer.id == opinion.answer_id:
            groups[-1].rows.append((opinion, item))
        else:
            groups.append(Group(opinion.answer, [(opinion, item)]))
    return groups


@dataclass
class CountTable:
    rows: list[tuple[Section | None, dict[str, int], int]]
    totals: dict[str, int]
    total: int


def count_table(consultation: Consultation) -> CountTable:
    """Opinions considered, a row per section (the whole draft first), a column per disposition."""
    by_section = counts(consultation)
    rows, totals = [], {}
    for section in [None, *consultation.sections]:
        row = by_section.get(section.id if section else None, {})
        rows.append((section, row, sum(row.values())))
        for key, n in row.items():
            totals[key] = totals.get(key, 0) + n
    return CountTable(rows, totals, sum(totals.values()))


def counts(consultation: Consultation) -> dict[int | None, dict[str, int]]:
    """Opinions considered, by section id (None: the whole draft) and disposition."""
    considered = considered_query(consultation).subquery()
    rows = db.session.execute(
        select(considered.c.section_id, considered.c.disposition, func.count()).group_by(
            considered.c.section_id, considered.c.disposition
        )
    )
    table: dict[int | None, dict[str, int]] = {}
    for section_id, disposition, n in rows:
        key = Disposition(disposition).value if disposition else "none"
        table.setdefault(section_id, {})[key] = n
    return table


# --- the final text against the draft -----------------------------------------------------------

_DIFF_KIND = {0: "equal", -1: "delete", 1: "insert"}


@dataclass
class SectionDiff:
    section: Section
    parts: list[tuple[str, str]]  # ("equal" | "delete" | "insert", text)

    @property
    def changed(self) -> bool:
        return any(kind != "equal" for kind, _ in self.parts)


def diff_text(before: str, after: str) -> list[tuple[str, str]]:
    """The changes from ``before`` to ``after`` as (kind, text) runs.

    diff-match-patch compares character by character (Japanese has no spaces to split on),
    then its semantic clean-up merges the fragments into phrases a reader can follow.
    """
    dmp = diff_match_patch()
    dmp.Diff_Timeout = 2.0
    diffs = dmp.diff_main(before, after)
    dmp.diff_cleanupSemantic(diffs)
    return [(_DIFF_KIND[op], text) for op, text in diffs if text]


def section_diffs(consultation: Consultation) -> list[SectionDiff]:
    return [
        SectionDiff(
            section,
            diff_text(section.body, section.final_body)
            if section.final_body is not None
            else [("equal", section.body)],
        )
        for section in consultation.sections
    ]


def reflected_in_text(opinion: Opinion) -> bool:
    """Whether the opinion's disposition changed the text and its section did change."""
    return (
        opinion.disposition in CHANGES_TEXT
        and opinion.section is not None
        and opinion.section.final_body is not None
    )


@notifications.reads("answer_published")
def _answer_published(p: dict) -> str:
    return _(
        'The ward published its answer to your opinion %(code)s on "%(title)s".',
        code=p.get("code", ""),
        title=p.get("title", ""),
    )


@notifications.reads("results_published")
def _results_published(p: dict) -> str:
    return _('The results of "%(title)s" are published.', title=p.get("title", ""))
