"""Search that finds what people mean: ゴミ finds ごみ, こうえん finds 公園, ｺﾞﾐ finds ゴミ.

Consultations, events and opinions keep a ``search_key``: their text folded (NFKC, lower case,
katakana as hiragana) and then as it is read (MeCab's readings, in hiragana), made by
``analytics.text.search_key`` before every flush that changes the text. A query is folded and
read the same way; each of its words must be a substring of the key in one of its forms. A
substring (LIKE) test is the same SQL on SQLite and PostgreSQL, and finds words inside Japanese
text, which has no spaces between them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, event, inspect, or_
from sqlalchemy.orm import Session

from analytics.text import search_key, search_terms

if TYPE_CHECKING:
    from app.consultations.models import Consultation
    from app.events.models import Event

OPINION = "opinion"  # the moderation source of opinions
EVENT_FIELDS = ("title", "description", "speakers", "department", "venue")
CONSULTATION_FIELDS = ("title", "summary", "topics")


def matches(column, query_text: str):
    """A condition: every word of ``query_text`` is in ``column`` (a search key), as written
    or as read; None when the query has no words."""
    terms = search_terms(query_text)
    if not terms:
        return None
    return and_(*(or_(*(column.like(_pattern(form), escape="\\") for form in t)) for t in terms))


def _pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def consultation_key(consultation: Consultation) -> str:
    sections = [f"{s.heading}\n{s.body}" for s in consultation.sections]
    return search_key(*(getattr(consultation, f) or "" for f in CONSULTATION_FIELDS), *sections)


def event_key(item: Event) -> str:
    return search_key(*(getattr(item, f) or "" for f in EVENT_FIELDS))


def _changed(obj, attributes) -> bool:
    state = inspect(obj)
    return state.pending or any(state.attrs[a].history.has_changes() for a in attributes)


@event.listens_for(Session, "before_flush")
def keep_search_keys(session: Session, _context, _instances) -> None:
    # the models import the features' packages, which use matches(): imported here, not above
    from app.consultations.models import Consultation, Opinion, Section
    from app.events.models import Event
    from app.moderation.models import ModerationItem

    consultations: set[Consultation] = set()
    opinion_texts: dict[int, str] = {}
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Consultation) and _changed(obj, CONSULTATION_FIELDS):
            consultations.add(obj)
        elif isinstance(obj, Section) and _changed(obj, ("heading", "body")):
            if obj.consultation is not None:
                consultations.add(obj.consultation)
        elif isinstance(obj, Event) and _changed(obj, EVENT_FIELDS):
            obj.search_key = event_key(obj)
        elif (
            isinstance(obj, ModerationItem)
            and obj.source == OPINION
            and obj.source_id
            and _changed(obj, ("public_text",))
        ):
            opinion_texts[int(obj.source_id)] = obj.public_text or ""
    with session.no_autoflush:
        for consultation in consultations:
            consultation.search_key = consultation_key(consultation)
        for opinion_id, text in opinion_texts.items():
            opinion = session.get(Opinion, opinion_id)
            if opinion is not None:
                opinion.search_key = search_key(text)
