"""What the open-data API publishes about consultations, opinions and results.

Only what the public pages already show: the masked public copy of an opinion (never the
original), the author's published display name only when they chose to show it, and nothing
about a person beyond that: no receipt codes (a receipt is its submitter's handle), no age
band or area per opinion, no e-mail addresses or account ids.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from flask import current_app, url_for
from flask_babel import force_locale
from sqlalchemy import func, or_, select

from app.consultations import results
from app.consultations.models import Consultation, Disposition, Opinion, Section, State
from app.consultations.review_forms import DISPOSITIONS
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.moderation.models import ModerationItem
from app.timeutil import to_tokyo, utcnow

_TOPIC_SEPARATORS = re.compile(r"[,、]")
#: the key of opinions that have no disposition (yet) in the counts
NO_DISPOSITION = "none"


def tokyo_iso(value: datetime | None) -> str | None:
    """ISO 8601 in Asia/Tokyo with its offset, e.g. 2026-05-01T09:00:00+09:00."""
    return to_tokyo(value).isoformat(timespec="seconds") if value is not None else None


def topics(text: str) -> list[str]:
    """Topics as staff typed them, separated by commas (also 、 and ，)."""
    normalised = unicodedata.normalize("NFKC", text or "")
    return [topic.strip() for topic in _TOPIC_SEPARATORS.split(normalised) if topic.strip()]


def area_name(code: str | None) -> dict[str, str] | None:
    for area_code, ja, en in current_app.config["WARD_AREAS"]:
        if area_code == code:
            return {"ja": ja, "en": en}
    return None


def disposition_legend() -> list[dict[str, str]]:
    """Each disposition with its label in Japanese and English."""
    labels: dict[str, dict[str, str]] = {}
    for language in ("ja", "en"):
        with force_locale(language):
            for disposition, label in DISPOSITIONS.items():
                labels.setdefault(disposition.value, {})[language] = str(label)
    return [
        {"value": value, "label_ja": label["ja"], "label_en": label["en"]}
        for value, label in labels.items()
    ]


# --- consultations --------------------------------------------------------------------------


def state_filter(state: str):
    """A SQL condition for the state a consultation is in now (an open one past its closing
    time is closed, as ``Consultation.current_state`` says)."""
    now = utcnow()
    if state == State.OPEN:
        return (Consultation.state == State.OPEN) & (Consultation.closes_at > now)
    if state == State.CLOSED:
        return or_(
            Consultation.state == State.CLOSED,
            (Consultation.state == State.OPEN) & (Consultation.closes_at <= now),
        )
    return Consultation.state == State(state)


def _published_opinions():
    return (
        select(Opinion.consultation_id, func.count(Opinion.id))
        .where(Opinion.listed.is_(True))
        .group_by(Opinion.consultation_id)
    )


def counts_for(ids: list[int]) -> dict[int, tuple[int, int]]:
    """(sections, published opinions) per consultation id, in two queries for a whole page."""
    if not ids:
        return {}
    sections = dict(
        db.session.execute(
            select(Section.consultation_id, func.count(Section.id))
            .where(Section.consultation_id.in_(ids))
            .group_by(Section.consultation_id)
        ).all()
    )
    opinions = dict(
        db.session.execute(_published_opinions().where(Opinion.consultation_id.in_(ids))).all()
    )
    return {i: (sections.get(i, 0), opinions.get(i, 0)) for i in ids}


def consultation(item: Consultation, counts: tuple[int, int]) -> dict:
    state = item.current_state()
    published = state == State.PUBLISHED
    return {
        "id": item.id,
        "title": item.title,
        "summary": item.summary,
        "department": item.department,
        "contact": item.contact,
        "topics": topics(item.topics),
        "area": item.area or None,
        "area_name": area_name(item.area),
        "state": state.value,
        "accepting_opinions": item.accepts_opinions(),
        "opens_at": tokyo_iso(item.opens_at),
        "closes_at": tokyo_iso(item.closes_at),
        "results_published_at": tokyo_iso(item.results_published_at) if published else None,
        "updated_at": tokyo_iso(item.updated_at),
        "section_count": counts[0],
        "published_opinion_count": counts[1],
        "url": url_for("consultations.show", consultation_id=item.id, _external=True),
        "api_url": url_for("api.consultation", consultation_id=item.id, _external=True),
        "opinions_url": url_for("api.opinions", consultation_id=item.id, _external=True),
        "results_url": (
            url_for("api.consultation_results", consultation_id=item.id, _external=True)
            if published
            else None
        ),
        "results_page_url": (
            url_for("consultations.results_page", consultation_id=item.id, _external=True)
            if published
            else None
        ),
    }


def consultation_detail(item: Consultation) -> dict:
    data = consultation(item, counts_for([item.id])[item.id])
    published = item.current_state() == State.PUBLISHED
    data["sections"] = [
        {
            "id": section.id,
            "position": section.position,
            "heading": section.heading,
            "body": section.body,
            # the final text exists once the results are published; unchanged, it is the draft
            "final_body": (
                (section.final_body if section.final_body is not None else section.body)
                if published
                else None
            ),
        }
        for section in item.sections
    ]
    return data


CONSULTATION_COLUMNS = (
    "id",
    "title",
    "summary",
    "department",
    "contact",
    "topics",
    "area",
    "state",
    "opens_at",
    "closes_at",
    "results_published_at",
    "section_count",
    "published_opinion_count",
    "url",
)


def consultation_row(data: dict) -> list:
    return [", ".join(data[c]) if c == "topics" else data[c] for c in CONSULTATION_COLUMNS]


# --- opinions -------------------------------------------------------------------------------


def public_names(opinions: list[Opinion]) -> dict[int, str | None]:
    """The published display name of each author who chose to show it (one query)."""
    return moderation_ops.public_names(
        [o.author for o in opinions if o.show_name and o.author is not None]
    )


def opinion(
    item: Opinion, public: ModerationItem, names: dict[int, str | None], reactions: dict
) -> dict:
    counts = reactions.get(item.id, {})
    return {
        "id": item.id,
        "section_id": item.section_id,
        "section_heading": item.section.heading if item.section is not None else None,
        "text": public.public_text,
        "author": names.get(item.author_id) if item.show_name and item.author_id else None,
        "channel": item.channel.value,
        "created_at": tokyo_iso(item.created_at),
        "reactions": {kind: counts.get(kind, 0) for kind in ("agree", "disagree", "pass")},
    }


OPINION_COLUMNS = (
    "id",
    "section_id",
    "section_heading",
    "text",
    "author",
    "channel",
    "created_at",
    "agree",
    "disagree",
    "pass",
)


def opinion_row(data: dict) -> list:
    return [
        data[c] if c in data else data["reactions"][c]  # agree, disagree, pass
        for c in OPINION_COLUMNS
    ]


# --- results --------------------------------------------------------------------------------


def count_table(item: Consultation) -> dict:
    table = results.count_table(item)
    keys = [d.value for d in Disposition] + [NO_DISPOSITION]

    def full(row: dict[str, int]) -> dict[str, int]:
        return {key: row.get(key, 0) for key in keys}

    return {
        "rows": [
            {
                "section_id": section.id if section else None,
                "position": section.position if section else None,
                "heading": section.heading if section else None,
                "counts": full(row),
                "total": total,
            }
            for section, row, total in table.rows
        ],
        "totals": full(table.totals),
        "total": table.total,
    }


def sections_with_changes(item: Consultation) -> list[dict]:
    return [
        {
            "id": diff.section.id,
            "position": diff.section.position,
            "heading": diff.section.heading,
            "draft_body": diff.section.body,
            "final_body": (
                diff.section.final_body
                if diff.section.final_body is not None
                else diff.section.body
            ),
            "changed": diff.changed,
            "diff": [{"kind": kind, "text": text} for kind, text in diff.parts],
        }
        for diff in results.section_diffs(item)
    ]


def result_opinion(item: Opinion, public: ModerationItem) -> dict:
    return {
        "id": item.id,
        "section_id": item.section_id,
        "section_heading": item.section.heading if item.section is not None else None,
        "text": public.public_text,
        "disposition": item.disposition.value if item.disposition else None,
        "disposition_reason": item.disposition_reason,
    }


def answers(rows: list[tuple[Opinion, ModerationItem]]) -> list[dict]:
    return [
        {
            "number": group.answer.number,
            "summary": group.answer.summary or "",
            "body": group.answer.body,
            "opinions": [result_opinion(o, public) for o, public in group.rows],
        }
        for group in results.group_rows(rows)
    ]


RESULT_COLUMNS = (
    "answer_number",
    "opinion_id",
    "section_id",
    "section_heading",
    "opinion",
    "summary",
    "view",
    "disposition",
    "disposition_label",
    "disposition_reason",
)


def result_rows(rows: list[tuple[Opinion, ModerationItem]]) -> list[list]:
    labels = {d["value"]: d["label_ja"] for d in disposition_legend()}
    lines = []
    for item, public in rows:
        answer = item.answer
        disposition = item.disposition.value if item.disposition else None
        lines.append(
            [
                answer.number if answer else None,
                item.id,
                item.section_id,
                item.section.heading if item.section is not None else None,
                public.public_text,
                answer.summary if answer else None,
                answer.body if answer else None,
                disposition,
                labels.get(disposition or ""),
                item.disposition_reason,
            ]
        )
    return lines
