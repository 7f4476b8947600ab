"""Search that finds what people mean: ゴミ finds ごみ, こうえん finds 公園, ｺﾞﾐ finds ゴミ.

Consultations, events and opinions keep a ``search_key``: their text folded (NFKC, lower case,
katakana as hiragana) and then as it is read (MeCab's readings, in hiragana), made by
``search_key`` below before every flush that changes the text. A query is folded and
read the same way; each of its words must be a substring of the key in one of its forms. A
substring (LIKE) test is the same SQL on SQLite and PostgreSQL, and finds words inside Japanese
text, which has no spaces between them.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from sqlalchemy import and_, event, inspect, or_
from sqlalchemy.orm import Session

from moderation import tagging

if TYPE_CHECKING:
    from app.consultations.models import Consultation
    from app.events.models import Event

# Not analytics.text: the web process never loads the analytics package (scikit-learn with it);
# MeCab (fugashi, unidic-lite) alone reads the words.
_SPACES = re.compile(r"\s+")


_KATAKANA = {code: code - 0x60 for code in range(0x30A1, 0x30F7)}  # ァ..ヶ → ぁ..ゖ


def fold(text: str) -> str:
    """Text as search compares it: NFKC (full-width letters to ASCII, half-width kana to full),
    lower case, katakana as hiragana, runs of white space as one space (ゴミ, ｺﾞﾐ, ごみ → ごみ)."""
    return _SPACES.sub(
        " ", unicodedata.normalize("NFKC", text).lower().translate(_KATAKANA)
    ).strip()


def reading(text: str) -> str:
    """How ``text`` is read, in hiragana, word after word (公園のゴミ → こうえんのごみ); words
    without a reading (Latin, numbers, unknown) as written."""
    flat = unicodedata.normalize("NFKC", text).lower()
    if not flat.strip():
        return ""
    out = []
    with tagging.tagger() as tagger:  # (its words are read before it goes back)
        for word in tagger(flat):
            kana = word.feature.kana if not word.surface.isascii() else None
            out.append(kana or word.surface)
    return fold("".join(out))


def search_key(*texts: str) -> str:
    """What a search index keeps of ``texts``: each folded, then how it is read; a search for a
    word (in kanji, kana or its reading) is a substring of it (see :func:`search_terms`)."""
    joined = "\n".join(t for t in texts if t)
    return f"{fold(joined)}\n{reading(joined)}" if joined else ""


def search_terms(query: str, limit: int = 5) -> list[tuple[str, ...]]:
    """The words of a query, each with the ways it may appear in a :func:`search_key` (as
    folded, and as read): 「公園　ゴミ」 → [("公園", "こうえん"), ("ごみ",)]."""
    terms = []
    for word in fold(query).split()[:limit]:
        forms = dict.fromkeys((word, reading(word).replace(" ", "")))
        terms.append(tuple(form for form in forms if form))
    return terms


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

    with session.no_autoflush:  # (a section's consultation may be loaded here)
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
        for consultation in consultations:
            consultation.search_key = consultation_key(consultation)
        for opinion_id, text in opinion_texts.items():
            opinion = session.get(Opinion, opinion_id)
            if opinion is not None:
                opinion.search_key = search_key(text)
