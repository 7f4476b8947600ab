"""Keep ``Opinion.listed`` true exactly for opinions others may read.

An opinion's text and its moderation status live in the moderation item (source "opinion",
source id the opinion's id as text); whether it was withdrawn lives on the opinion. The public
list needs both for every row, so counting and paging it joined 10,000 items a page. The flag
is the product of the two, set before every flush from whatever changed on either side, so
the list is one index range (``ix_opinions_listed``).

:class:`PublicPage` reads one page of that list as the consultation page shows it: each
opinion's public text, its author's public name, its reactions by kind and the reader's own,
in one query, and the list's count in another, without building ORM objects (each query is a
round trip to PostgreSQL and a few hundred microseconds of Python; the page was 14 of them,
its costliest part when many read it at once: bench/consultation_load.py).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.consultations.models import Opinion, OpinionCopy, Reaction, ReactionKind
from app.extensions import db
from app.moderation.models import ItemStatus, ModerationItem
from app.moderation.operations import DISPLAY_NAME, shown_name
from app.search import matches

OPINION = "opinion"  # the moderation source of opinions


def _changed(obj, attribute: str) -> bool:
    return inspect(obj).attrs[attribute].history.has_changes()


@event.listens_for(Session, "before_flush")
def keep_listed(session: Session, _context, _instances) -> None:
    items: dict[int, ModerationItem | None] = {}
    opinions: dict[int, Opinion] = {}
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, ModerationItem):
            if obj.source == OPINION and obj.source_id and _changed(obj, "status"):
                items[int(obj.source_id)] = obj
        elif isinstance(obj, Opinion) and obj.id is not None and _changed(obj, "withdrawn_at"):
            opinions[obj.id] = obj
    for obj in session.deleted:
        if isinstance(obj, ModerationItem) and obj.source == OPINION and obj.source_id:
            items[int(obj.source_id)] = None
    if not items and not opinions:
        return
    with session.no_autoflush:
        for opinion_id, item in items.items():
            opinion = opinions.pop(opinion_id, None) or session.get(Opinion, opinion_id)
            if opinion is not None:
                opinion.listed = _listed(opinion, item)
        for opinion_id, opinion in opinions.items():
            item = session.scalar(
                select(ModerationItem).where(
                    ModerationItem.source == OPINION,
                    ModerationItem.source_id == str(opinion_id),
                )
            )
            opinion.listed = _listed(opinion, item)


def _listed(opinion: Opinion, item: ModerationItem | None) -> bool:
    return item is not None and item.status == ItemStatus.PUBLISHED and opinion.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class ListedOpinion:
    """One opinion of the public list, with what others may see of it and nothing more."""

    id: int
    item_id: int  # its moderation item (what a report is about)
    text: str  # the public text (personal data masked)
    section_id: int | None
    author_id: int | None
    name: str | None  # the author's public name, when shown by name and published; else None
    created_at: datetime
    counts: dict[str, int]  # reactions by kind
    mine: str | None  # the reader's own reaction
    same: int = 0  # other published opinions that say the same (同趣旨), shown with it


class PublicPage(Pagination):
    """A page of a consultation's public opinions, oldest first, for ``reader`` (or nobody).

    A Flask-SQLAlchemy pagination (``page``, ``pages``, ``total``, ``items``... as the pager
    macro uses them) whose items are :class:`ListedOpinion`. The statements are built once per
    process, with bound parameters: building them (aliases, a subquery) cost more than running
    them.
    """

    def __init__(
        self,
        consultation_id: int,
        reader_id: int | None,
        section: int | str | None = None,
        query_text: str = "",
        **kwargs,
    ) -> None:
        """``section``: only the opinions on that section (its id), or on the whole draft
        (``WHOLE``); None for all of them. ``query_text``: a search (app.search) that narrows
        the list; its statements are built for it alone."""
        kind = None if section is None else WHOLE if section == WHOLE else "one"
        condition = matches(Opinion.search_key, query_text)
        self.statements = _statements(kind) if condition is None else _build(kind, condition)
        super().__init__(
            consultation_id=consultation_id, reader_id=reader_id, section=section, **kwargs
        )

    def _section_args(self) -> dict:
        section = self._query_args["section"]
        if section is None or section == WHOLE:
            return {}
        return {"section_id": section}

    def _query_count(self) -> int:
        args = self._section_args()
        return db.session.scalar(
            self.statements.count,
            {"consultation_id": self._query_args["consultation_id"], **args},
        )

    def _query_items(self) -> list[ListedOpinion]:
        args = self._section_args()
        rows = db.session.execute(
            self.statements.page,
            {
                **args,
                "consultation_id": self._query_args["consultation_id"],
                "page_limit": self.per_page,
                "page_offset": self._query_offset,
                "reader_id": self._query_args["reader_id"],
            },
        ).all()
        return [
            ListedOpinion(
                id=row.id,
                item_id=row.item_id,
                text=row.text,
                section_id=row.section_id,
                author_id=row.author_id,
                name=(
                    shown_name(row.display_name, row.name_status, row.name_text)
                    if row.show_name and row.display_name is not None
                    else None
                ),
                created_at=row.created_at,
                counts={
                    kind: n
                    for kind, n in (
                        ("agree", row.agree),
                        ("disagree", row.disagree),
                        ("pass", row.pass_),
                    )
                    if n
                },
                mine=row.mine.value if row.mine is not None else None,
                same=row.same,
            )
            for row in rows
        ]


@dataclass(frozen=True)
class _Statements:
    count: Select
    page: Select


def shown_once():
    """A published opinion shows on public lists unless it is a near-copy (同趣旨) of one
    that shows: the group is one line there, with its count (``copies``)."""
    root = aliased(Opinion)
    return ~(
        select(OpinionCopy.opinion_id)
        .join(root, root.id == OpinionCopy.copy_of_id)
        .where(OpinionCopy.opinion_id == Opinion.id, root.listed.is_(True))
        .exists()
    )


def copies():
    """The count of published near-copies of each opinion (a scalar subquery)."""
    copy = aliased(Opinion)
    return (
        select(func.count())
        .select_from(OpinionCopy)
        .join(copy, copy.id == OpinionCopy.opinion_id)
        .where(OpinionCopy.copy_of_id == Opinion.id, copy.listed.is_(True))
        .scalar_subquery()
    )


WHOLE = "whole"  # the filter of the opinions on the whole draft (no section)


@functools.cache
def _statements(section: str | None = None) -> _Statements:
    """The statements of the list: all of it, one section's (``"one"``, bound ``section_id``)
    or the whole draft's (``WHOLE``)."""
    return _build(section, None)


def _build(section: str | None, condition) -> _Statements:
    listed = and_(
        Opinion.consultation_id == bindparam("consultation_id"),
        Opinion.listed.is_(True),
        shown_once(),
        *([condition] if condition is not None else []),
    )
    if section == WHOLE:
        listed = and_(listed, Opinion.section_id.is_(None))
    elif section is not None:
        listed = and_(listed, Opinion.section_id == bindparam("section_id", type_=Integer))
    # the page's ids first (one index range)
    ids = (
        select(Opinion.id)
        .where(listed)
        .order_by(Opinion.created_at, Opinion.id)
        .limit(bindparam("page_limit", type_=Integer))
        .offset(bindparam("page_offset", type_=Integer))
        .subquery()
    )
    item = aliased(ModerationItem)
    name_item = aliased(ModerationItem)

    def reactions(kind: ReactionKind):
        return (
            select(func.count())
            .where(Reaction.opinion_id == Opinion.id, Reaction.kind == kind)
            .scalar_subquery()
        )

    mine = (
        select(Reaction.kind)
        .where(
            Reaction.opinion_id == Opinion.id,
            Reaction.user_id == bindparam("reader_id", type_=Integer),
        )
        .limit(1)
        .scalar_subquery()
    )
    # then what is shown of just those, their reactions counted by kind, the reader's own
    page = (
        select(
            Opinion.id,
            item.id.label("item_id"),
            item.public_text.label("text"),
            Opinion.section_id,
            Opinion.author_id,
            Opinion.show_name,
            Opinion.created_at,
            User.display_name,
            name_item.status.label("name_status"),
            name_item.public_text.label("name_text"),
            reactions(ReactionKind.AGREE).label("agree"),
            reactions(ReactionKind.DISAGREE).label("disagree"),
            reactions(ReactionKind.PASS).label("pass_"),
            mine.label("mine"),
            copies().label("same"),
        )
        .join(ids, ids.c.id == Opinion.id)
        .join(item, and_(item.source == OPINION, item.source_id == cast(Opinion.id, String)))
        .outerjoin(User, and_(User.id == Opinion.author_id, Opinion.show_name.is_(True)))
        .outerjoin(
            name_item,
            and_(name_item.source == DISPLAY_NAME, name_item.source_id == cast(User.id, String)),
        )
        .order_by(Opinion.created_at, Opinion.id)
    )
    return _Statements(count=select(func.count()).select_from(Opinion).where(listed), page=page)
