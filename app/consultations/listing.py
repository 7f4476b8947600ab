"""Keep ``Opinion.listed`` true exactly for opinions others may read.

An opinion's text and its moderation status live in the moderation item (source "opinion",
source id the opinion's id as text); whether it was withdrawn lives on the opinion. The public
list needs both for every row, so counting and paging it joined 10,000 items a page. The flag
is the product of the two, set before every flush from whatever changed on either side, so
the list is one index range (``ix_opinions_listed``).

:class:`PublicPage` reads one page of that list as the consultation page shows it: each
opinion's public text, its author's public name and its reactions, in three queries (the count,
the page, the reactions) and without building ORM objects, the page's costliest part when many
read it at once (bench/consultation_load.py).
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
    case,
    cast,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import Session, aliased

from app.auth.models import User
from app.consultations.models import Opinion, Reaction
from app.extensions import db
from app.moderation.models import ItemStatus, ModerationItem
from app.moderation.operations import DISPLAY_NAME

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


class PublicPage(Pagination):
    """A page of a consultation's public opinions, oldest first, for ``reader`` (or nobody).

    A Flask-SQLAlchemy pagination (``page``, ``pages``, ``total``, ``items``... as the pager
    macro uses them) whose items are :class:`ListedOpinion`. The statements are built once per
    process, with bound parameters: building them (aliases, a subquery) cost more than running
    them.
    """

    def __init__(self, consultation_id: int, reader_id: int | None, **kwargs) -> None:
        super().__init__(consultation_id=consultation_id, reader_id=reader_id, **kwargs)

    def _query_count(self) -> int:
        return db.session.scalar(
            _statements().count, {"consultation_id": self._query_args["consultation_id"]}
        )

    def _query_items(self) -> list[ListedOpinion]:
        statements = _statements()
        rows = db.session.execute(
            statements.page,
            {
                "consultation_id": self._query_args["consultation_id"],
                "page_limit": self.per_page,
                "page_offset": self._query_offset,
            },
        ).all()
        counts: dict[int, dict[str, int]] = {}
        mine: dict[int, str] = {}
        if rows:
            for opinion_id, kind, n, is_mine in db.session.execute(
                statements.reactions,
                {"ids": [row[0] for row in rows], "reader_id": self._query_args["reader_id"]},
            ):
                counts.setdefault(opinion_id, {})[kind.value] = n
                if is_mine:
                    mine[opinion_id] = kind.value
        return [
            ListedOpinion(
                id=opinion_id,
                item_id=item_id,
                text=text,
                section_id=section_id,
                author_id=author_id,
                name=_public_name(show_name, display_name, name_status, name_text),
                created_at=created_at,
                counts=counts.get(opinion_id, {}),
                mine=mine.get(opinion_id),
            )
            for (
                opinion_id,
                item_id,
                text,
                section_id,
                author_id,
                show_name,
                created_at,
                display_name,
                name_status,
                name_text,
            ) in rows
        ]


@dataclass(frozen=True)
class _Statements:
    count: Select
    page: Select
    reactions: Select


@functools.cache
def _statements() -> _Statements:
    listed = and_(Opinion.consultation_id == bindparam("consultation_id"), Opinion.listed.is_(True))
    # the page's ids first (one index range), then what is shown of just those
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
    page = (
        select(
            Opinion.id,
            item.id,
            item.public_text,
            Opinion.section_id,
            Opinion.author_id,
            Opinion.show_name,
            Opinion.created_at,
            User.display_name,
            name_item.status,
            name_item.public_text,
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
    # reactions by opinion and kind, and whether one of them is the reader's (none for nobody)
    reactions = (
        select(
            Reaction.opinion_id,
            Reaction.kind,
            func.count(),
            func.max(case((Reaction.user_id == bindparam("reader_id", type_=Integer), 1), else_=0)),
        )
        .where(Reaction.opinion_id.in_(bindparam("ids", expanding=True)))
        .group_by(Reaction.opinion_id, Reaction.kind)
    )
    return _Statements(
        count=select(func.count()).select_from(Opinion).where(listed),
        page=page,
        reactions=reactions,
    )


def _public_name(shown: bool, name: str | None, status, public_text: str | None) -> str | None:
    """As moderation's public_names: the published copy of the name, the name itself for an
    account from before names were moderated, nothing while it is held or refused."""
    if not shown or name is None:
        return None
    if status is None:
        return name
    return public_text if status == ItemStatus.PUBLISHED else None
