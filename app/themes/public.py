"""What residents see of the themes: while a consultation runs (when staff allow it) and with
its results. Only published opinions are quoted; an automatic name keeps only the keywords
moderation would publish (a theme's words come from every opinion, held ones too)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

import moderation
from app.consultations.models import Answer, Consultation, Opinion, State
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.themes import operations
from app.themes.models import Theme, ThemeMember, ThemeRun

QUOTED = 3  # published opinions quoted under each theme


def visible(consultation: Consultation) -> bool:
    """Residents see the themes with the results, or earlier when staff allow it."""
    state = consultation.current_state()
    if state == State.PUBLISHED:
        return True
    return consultation.themes_public and state in (State.OPEN, State.CLOSED)


def public_label(
    theme: Theme, number: int, blocked: moderation.WordList | None = None
) -> tuple[str, list[str]]:
    """The name and keywords residents see: a name staff kept as written, else the
    keywords moderation would publish."""
    if theme.other:
        return _("Other opinions"), []
    blocked = blocked if blocked is not None else moderation_ops.word_list()
    words = [w for w in theme.keywords if not moderation.scan(w, words=blocked).findings]
    if theme.pinned:
        return theme.label, words
    return ("・".join(words[:3]) or _("Theme %(number)d", number=number)), words


@dataclass
class PublicTheme:
    number: int
    key: int
    label: str
    keywords: list[str]
    size: int
    x: float
    y: float
    quoted: list[tuple[int, str]] = field(default_factory=list)  # (opinion id, public text)
    answers: list[tuple[Answer, int]] = field(default_factory=list)  # with the results
    dispositions: Counter = field(default_factory=Counter)
    summary: str = ""  # a published resident's sentence, only when quoted here


def public_themes(consultation: Consultation, run: ThemeRun) -> list[PublicTheme]:
    shown = []
    published = consultation.current_state() == State.PUBLISHED
    blocked = moderation_ops.word_list()
    for number, theme in enumerate(operations.themes_of(run), start=1):
        label, words = public_label(theme, number, blocked)
        item = PublicTheme(number, theme.key, label, words, theme.size, theme.x, theme.y)
        listed = (
            select(ThemeMember.opinion_id)
            .join(Opinion, Opinion.id == ThemeMember.opinion_id)
            .where(ThemeMember.theme_id == theme.id, Opinion.listed.is_(True))
        )
        shown_first = set(
            db.session.scalars(listed.where(ThemeMember.opinion_id.in_(theme.representatives)))
        )
        typical = [i for i in theme.representatives if i in shown_first]
        if len(typical) < QUOTED:
            more = db.session.scalars(
                listed.where(ThemeMember.opinion_id.not_in(typical or [-1]))
                .order_by(ThemeMember.id)
                .limit(QUOTED - len(typical))
            )
            typical += list(more)
        texts = operations.public_texts(typical[:QUOTED])
        item.quoted = [(i, texts[i]) for i in typical[:QUOTED] if i in texts]
        # the summary is a sentence of one opinion: shown only when that opinion is published
        said = theme.summary.removesuffix("…")
        if said and any(said in " ".join(text.split()) for _, text in item.quoted):
            item.summary = theme.summary
        if published:
            rows = db.session.execute(
                select(Opinion.answer_id, Opinion.disposition, func.count())
                .join(ThemeMember, ThemeMember.opinion_id == Opinion.id)
                .where(ThemeMember.theme_id == theme.id, Opinion.listed.is_(True))
                .group_by(Opinion.answer_id, Opinion.disposition)
            ).all()
            per_answer: Counter = Counter()
            for answer_id, disposition, count in rows:
                if answer_id is not None:
                    per_answer[answer_id] += count
                if disposition is not None:
                    item.dispositions[disposition] += count
            found = db.session.scalars(select(Answer).where(Answer.id.in_(per_answer)))
            answers = {a.id: a for a in found}
            item.answers = [
                (answers[a], n)
                for a, n in sorted(per_answer.items(), key=lambda p: answers[p[0]].number or 0)
                if a in answers
            ]
        shown.append(item)
    return shown


def themes_of_opinions(opinions: list[Opinion]) -> dict[int, tuple[int, str]]:
    """For "My voice": each opinion's theme (its key, for the link, and its name as residents
    see it), where its consultation shows its themes."""
    out: dict[int, tuple[int, str]] = {}
    by_consultation: dict[int, list[Opinion]] = {}
    for opinion in opinions:
        by_consultation.setdefault(opinion.consultation_id, []).append(opinion)
    for consultation_id, own in by_consultation.items():
        consultation = db.session.get(Consultation, consultation_id)
        run = operations.latest(consultation, finished=True)
        if run is None or not visible(consultation):
            continue
        numbered = {t.id: (n, t) for n, t in enumerate(operations.themes_of(run), start=1)}
        blocked = moderation_ops.word_list()
        rows = db.session.execute(
            select(ThemeMember.opinion_id, ThemeMember.theme_id).where(
                ThemeMember.run_id == run.id,
                ThemeMember.opinion_id.in_([o.id for o in own]),
            )
        )
        for opinion_id, theme_id in rows:
            if theme_id in numbered:
                number, theme = numbered[theme_id]
                out[opinion_id] = (theme.key, public_label(theme, number, blocked)[0])
    return out


@dataclass
class PublicGroup:
    letter: str
    size: int
    statements: list[tuple[str, int, str]]  # (stance, percent, public text)


def public_groups(run: ThemeRun) -> tuple[int, list[PublicGroup], list[str]]:
    """The run's opinion groups as residents may see them: (people placed, groups, opinions
    every group agrees with), quoting published opinions only."""
    found = run.opinion_groups
    if not found:
        return 0, [], []
    ids = {s["opinion"] for g in found["groups"] for s in g["statements"]}
    ids |= {c["opinion"] for c in found["consensus"]}
    listed = set(
        db.session.scalars(select(Opinion.id).where(Opinion.id.in_(ids), Opinion.listed.is_(True)))
    )
    texts = operations.public_texts(sorted(listed))
    groups = [
        PublicGroup(
            chr(ord("A") + n),
            group["size"],
            [
                (s["stance"], round(100 * s["rate"]), texts[s["opinion"]])
                for s in group["statements"]
                if s["opinion"] in texts
            ],
        )
        for n, group in enumerate(found["groups"])
    ]
    consensus = [texts[c["opinion"]] for c in found["consensus"] if c["opinion"] in texts]
    return found["people"], groups, consensus
