"""Staff edit the themes of the last grouping: rename (and pin) a theme, merge two, split one
into its finer themes, move opinions to another theme. Every edit is in the audit log; none
commits. The next grouping keeps the pinned labels and the moved opinions (see
``operations.execute``)."""

from __future__ import annotations

from sqlalchemy import select

from app import audit
from app.auth.models import User
from app.consultations.models import Consultation
from app.consultations.operations import NotAllowed
from app.extensions import db
from app.themes import operations
from app.themes.models import Theme, ThemeMember, ThemeRun

LABEL_MAX = 200
REPRESENTATIVES_KEPT = 8


def editable_theme(consultation: Consultation, theme_id: int) -> Theme | None:
    """A top-level theme of the consultation's last grouping, or None (another
    consultation's, an older run's, a finer theme)."""
    run = operations.latest(consultation, finished=True)
    theme = db.session.get(Theme, theme_id)
    if run is None or theme is None or theme.run_id != run.id or theme.parent_id is not None:
        return None
    return theme


def _check_open(consultation: Consultation) -> None:
    if consultation.results_published_at is not None:
        raise NotAllowed("the results are published: the themes are frozen")


def rename(theme: Theme, label: str, pinned: bool, staff: User) -> None:
    consultation = db.session.get(Consultation, theme.run.consultation_id)
    _check_open(consultation)
    label = " ".join(label.split())[:LABEL_MAX]
    if not label:
        raise ValueError("a theme needs a name")
    before = theme.label
    theme.label, theme.pinned = label, pinned
    audit.record(
        "themes.rename",
        consultation,
        actor=staff,
        details={"theme": theme.id, "key": theme.key, "from": before, "to": label, "pin": pinned},
    )


def _weighted(a: float, wa: int, b: float, wb: int) -> float:
    return (a * wa + b * wb) / (wa + wb) if wa + wb else 0.0


def merge(theme: Theme, into: Theme, staff: User) -> None:
    """Put every opinion of ``theme`` into ``into``; its finer themes go with them."""
    consultation = db.session.get(Consultation, theme.run.consultation_id)
    _check_open(consultation)
    if theme.id == into.id or theme.run_id != into.run_id:
        raise ValueError("merge a theme into another theme of the same grouping")
    into.x = _weighted(into.x, into.size, theme.x, theme.size)
    into.y = _weighted(into.y, into.size, theme.y, theme.size)
    into.density = round(_weighted(into.density, into.size, theme.density, theme.size), 4)
    into.keywords = list(dict.fromkeys([*into.keywords, *theme.keywords]))[:10]
    into.representatives = [*into.representatives, *theme.representatives][:REPRESENTATIVES_KEPT]
    into.copies = [*into.copies, *theme.copies]
    into.similar = list(dict.fromkeys([*into.similar, *theme.similar]))[:5]
    into.size += theme.size
    into.distinct += theme.distinct
    next_key = max((c.key for c in into.children), default=-1) + 1
    for n, child in enumerate(list(theme.children)):
        child.parent_id, child.key = into.id, next_key + n  # numbered after into's own
    db.session.execute(
        ThemeMember.__table__.update()
        .where(ThemeMember.theme_id == theme.id)
        .values(theme_id=into.id)
    )
    audit.record(
        "themes.merge",
        consultation,
        actor=staff,
        details={"theme": theme.id, "label": theme.label, "into": into.id, "size": theme.size},
    )
    db.session.flush()
    db.session.expire(theme, ["children"])
    db.session.delete(theme)


def split(theme: Theme, staff: User) -> list[Theme]:
    """Make each finer theme of ``theme`` a theme of its own; return them."""
    consultation = db.session.get(Consultation, theme.run.consultation_id)
    _check_open(consultation)
    children = list(theme.children)
    if len(children) < 2:
        raise ValueError("this theme has no finer themes to split into")
    run = theme.run
    next_key = max(t.key for t in run.themes if t.parent_id is None) + 1
    for n, child in enumerate(children):
        child.parent_id, child.key = None, next_key + n
        db.session.execute(
            ThemeMember.__table__.update()
            .where(ThemeMember.subtheme_id == child.id)
            .values(theme_id=child.id, subtheme_id=None)
        )
    # opinions placed after the run have no finer theme: they go to the largest part
    largest = max(children, key=lambda c: c.size)
    left = db.session.scalars(select(ThemeMember).where(ThemeMember.theme_id == theme.id)).all()
    for member in left:
        member.theme_id = largest.id
        largest.size += 1
        largest.distinct += 1
    audit.record(
        "themes.split",
        consultation,
        actor=staff,
        details={"theme": theme.id, "label": theme.label, "into": [c.id for c in children]},
    )
    db.session.flush()
    db.session.expire(theme, ["children"])
    db.session.delete(theme)
    return children


def move(run: ThemeRun, opinion_ids: list[int], target: Theme, staff: User) -> int:
    """Move opinions of the grouping into ``target``; return how many moved. A theme left
    empty goes."""
    consultation = db.session.get(Consultation, run.consultation_id)
    _check_open(consultation)
    if target.run_id != run.id or target.parent_id is not None:
        raise ValueError("move into a theme of the same grouping")
    members = db.session.scalars(
        select(ThemeMember).where(
            ThemeMember.run_id == run.id,
            ThemeMember.opinion_id.in_(opinion_ids),
            ThemeMember.theme_id != target.id,
        )
    ).all()
    if not members:
        return 0
    sources: dict[int, Theme] = {}
    for member in members:
        source = sources.setdefault(member.theme_id, db.session.get(Theme, member.theme_id))
        operations.move_member(member, source, target)
    audit.record(
        "themes.move",
        consultation,
        actor=staff,
        details={"opinions": sorted(m.opinion_id for m in members), "into": target.id},
    )
    db.session.flush()
    for source in sources.values():
        for child in list(source.children):
            if child.size <= 0:
                db.session.delete(child)
        if source.size <= 0:
            db.session.delete(source)
    return len(members)
