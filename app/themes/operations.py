"""Clustering runs: requested by staff, run in the jobs process (never in a web request),
stored with their themes. Operations never commit, except ``execute``, which commits its
progress as it goes so that staff see it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import select

from app import audit, jobs
from app.auth.models import User
from app.consultations.models import Consultation, Opinion
from app.consultations.operations import OPINION
from app.consultations.results import considered_query
from app.extensions import db
from app.moderation.models import ModerationItem
from app.themes.models import DONE, FAILED, QUEUED, RUNNING, Theme, ThemeMember, ThemeRun
from app.timeutil import utcnow

MIN_TEXTS = 2


def request_run(
    consultation: Consultation, staff: User | None, k: int | None = None, queue: bool = True
) -> ThemeRun:
    """Record a clustering of the consultation's opinions; with ``queue`` the jobs worker
    runs it (the CLI runs it itself)."""
    run = ThemeRun(consultation_id=consultation.id, requested_k=k, created_by=staff)
    db.session.add(run)
    db.session.flush()
    if queue:
        jobs.enqueue("cluster_consultation", run_id=run.id)
    audit.record("themes.run", consultation, actor=staff, details={"run": run.id, "k": k})
    return run


def latest(consultation: Consultation, finished: bool = False) -> ThemeRun | None:
    query = select(ThemeRun).where(ThemeRun.consultation_id == consultation.id)
    if finished:
        query = query.where(ThemeRun.status == DONE)
    return db.session.scalar(query.order_by(ThemeRun.id.desc()).limit(1))


def busy(consultation: Consultation) -> ThemeRun | None:
    """A run still waiting or running, if any (one at a time is enough)."""
    return db.session.scalar(
        select(ThemeRun).where(
            ThemeRun.consultation_id == consultation.id,
            ThemeRun.status.in_((QUEUED, RUNNING)),
        )
    )


def texts_of(consultation: Consultation) -> list[tuple[int, str]]:
    """(opinion id, public text) of the opinions the ward considers: masked, never the
    original; withdrawn and refused ones left out."""
    query = (
        considered_query(consultation)
        .with_only_columns(Opinion.id, ModerationItem.public_text)
        .order_by(Opinion.id)
    )
    return [(i, t) for i, t in db.session.execute(query).all()]


def _previous(consultation: Consultation, run: ThemeRun) -> dict[int, int]:
    """Each opinion's theme key in the last finished run."""
    last = db.session.scalar(
        select(ThemeRun)
        .where(
            ThemeRun.consultation_id == consultation.id,
            ThemeRun.status == DONE,
            ThemeRun.id != run.id,
        )
        .order_by(ThemeRun.id.desc())
        .limit(1)
    )
    if last is None:
        return {}
    rows = db.session.execute(
        select(ThemeMember.opinion_id, Theme.key)
        .join(Theme, Theme.id == ThemeMember.theme_id)
        .where(ThemeMember.run_id == last.id)
    )
    return dict(rows.all())


def execute(run_id: int, report: Callable[[int, str], None] | None = None) -> ThemeRun:
    """Cluster the opinions of the run's consultation and store the themes (in the jobs
    process or the CLI). Progress is committed as it goes; a failure is stored on the run."""
    import analytics  # the library: scikit-learn and the word vectors, never in the web process

    run = db.session.get(ThemeRun, run_id)

    def step(percent: int, what: str) -> None:
        run.progress = percent
        db.session.commit()
        if report:
            report(percent, what)

    run.status = RUNNING
    step(5, "reading the opinions")
    consultation = db.session.get(Consultation, run.consultation_id)
    rows = texts_of(consultation)
    run.texts = len(rows)
    if len(rows) < MIN_TEXTS:
        run.status, run.error, run.finished_at = FAILED, "too_few", utcnow()
        step(100, "too few opinions to group")
        return run
    ids = [i for i, _ in rows]
    previous = _previous(consultation, run)
    step(15, f"clustering {len(rows)} opinions")
    result = analytics.cluster_texts(
        [t for _, t in rows],
        k=run.requested_k,
        previous=[previous.get(i) for i in ids] if previous else None,
    )
    step(80, "storing the themes")
    keys = analytics.stable_ids(previous, ids, result.labels)
    for old in db.session.scalars(select(ThemeMember).where(ThemeMember.run_id == run.id)):
        db.session.delete(old)  # a retried job starts clean
    run.themes.clear()
    stored: list[tuple[Theme, object]] = []
    for cluster in result.clusters:
        theme = _theme(run, cluster, keys[cluster.id], ids, result.coordinates)
        stored.append((theme, cluster))
        for n, child in enumerate(cluster.children):
            theme.children.append(_theme(run, child, n, ids, result.coordinates))
    db.session.flush()
    for theme, cluster in stored:
        sub = {}
        for child_theme, child in zip(theme.children, cluster.children, strict=True):
            sub.update(dict.fromkeys(child.members, child_theme.id))
        db.session.add_all(
            ThemeMember(
                run_id=run.id,
                opinion_id=ids[i],
                theme_id=theme.id,
                subtheme_id=sub.get(i),
                x=float(result.coordinates[i, 0]),
                y=float(result.coordinates[i, 1]),
            )
            for i in cluster.members
        )
    run.k, run.status, run.finished_at = result.k, DONE, utcnow()
    step(100, f"{result.k} themes")
    return run


def _theme(run: ThemeRun, cluster, key: int, ids: list[int], coordinates: np.ndarray) -> Theme:
    where = coordinates[cluster.members].mean(axis=0) if cluster.members else (0.0, 0.0)
    theme = Theme(
        run=run,
        key=int(key),
        label=cluster.label[:200] or "—",
        keywords=cluster.keywords,
        size=cluster.size,
        distinct=cluster.distinct,
        density=round(float(cluster.density), 4),
        x=float(where[0]),
        y=float(where[1]),
        representatives=[ids[i] for i in cluster.representatives],
        copies=[[ids[i] for i in group] for group in cluster.duplicates],
    )
    db.session.add(theme)
    return theme


@jobs.handler("cluster_consultation")
def cluster_consultation(run_id: int) -> None:
    try:
        execute(run_id)
    except Exception as exc:
        db.session.rollback()
        run = db.session.get(ThemeRun, run_id)
        if run is not None:
            run.status, run.error, run.finished_at = FAILED, type(exc).__name__, utcnow()
            db.session.commit()
        raise


def themes_of(run: ThemeRun) -> list[Theme]:
    """The top-level themes, largest first."""
    return sorted((t for t in run.themes if t.parent_id is None), key=lambda t: (-t.size, t.key))


def public_texts(opinion_ids: list[int]) -> dict[int, str]:
    """The masked public text of each opinion."""
    if not opinion_ids:
        return {}
    rows = db.session.execute(
        select(ModerationItem.source_id, ModerationItem.public_text).where(
            ModerationItem.source == OPINION,
            ModerationItem.source_id.in_([str(i) for i in opinion_ids]),
        )
    )
    return {int(source_id): text for source_id, text in rows}
