"""Keep ``Opinion.listed`` true exactly for opinions others may read.

An opinion's text and its moderation status live in the moderation item (source "opinion",
source id the opinion's id as text); whether it was withdrawn lives on the opinion. The public
list needs both for every row, so counting and paging it joined 10,000 items a page. The flag
is the product of the two, set before every flush from whatever changed on either side, so
the list is one index range (``ix_opinions_listed``).
"""

from __future__ import annotations

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.consultations.models import Opinion
from app.moderation.models import ItemStatus, ModerationItem

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
