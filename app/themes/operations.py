"""Clustering runs: requested by staff, run in the jobs process (never in a web request),
stored with their themes. Operations never commit, except ``execute``, which commits its
progress as it goes so that staff see it."""

from __future__ import annotations

import hashlib
import hmac
import pickle
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from flask import current_app
from sqlalchemy import delete, or_, select

from app import audit, jobs, signals
from app.auth.models import User
from app.consultations.models import (
    Consultation,
    Opinion,
    OpinionCopy,
    Reaction,
    ReactionKind,
)
from app.consultations.operations import OPINION
from app.consultations.results import ITEM_JOIN, considered_query
from app.extensions import db
from app.moderation import operations as moderation_ops
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


def texts_of(consultation: Consultation, not_in: ThemeRun | None = None) -> list[tuple[int, str]]:
    """(opinion id, public text) of the opinions the ward considers: masked, never the
    original; withdrawn and refused ones left out; with ``not_in``, only those that run
    does not hold."""
    query = (
        considered_query(consultation)
        .with_only_columns(Opinion.id, ModerationItem.public_text)
        .order_by(Opinion.id)
    )
    if not_in is not None:
        query = query.where(
            ~select(ThemeMember.id)
            .where(ThemeMember.run_id == not_in.id, ThemeMember.opinion_id == Opinion.id)
            .exists()
        )
    return [(i, t) for i, t in db.session.execute(query).all()]


def _last_before(consultation: Consultation, run: ThemeRun) -> ThemeRun | None:
    return db.session.scalar(
        select(ThemeRun)
        .where(
            ThemeRun.consultation_id == consultation.id,
            ThemeRun.status == DONE,
            ThemeRun.id != run.id,
        )
        .order_by(ThemeRun.id.desc())
        .limit(1)
    )


def _previous(last: ThemeRun | None) -> tuple[dict[int, int], dict[int, int], dict[int, str]]:
    """From the last finished run: each opinion's theme key, the opinions staff moved (to
    their theme's key) and the labels staff pinned (by key)."""
    if last is None:
        return {}, {}, {}
    rows = db.session.execute(
        select(ThemeMember.opinion_id, Theme.key, ThemeMember.moved)
        .join(Theme, Theme.id == ThemeMember.theme_id)
        .where(ThemeMember.run_id == last.id)
    ).all()
    # 「その他の意見」 is no theme to carry over, but an opinion staff moved there stays
    grouped = [(i, key, moved) for i, key, moved in rows if key != OTHER_KEY]
    pinned = db.session.execute(
        select(Theme.key, Theme.label).where(
            Theme.run_id == last.id, Theme.parent_id.is_(None), Theme.pinned.is_(True)
        )
    )
    return (
        {i: key for i, key, _ in grouped},
        {i: key for i, key, moved in rows if moved},
        dict(pinned.all()),
    )


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
    previous, moved, pinned = _previous(_last_before(consultation, run))
    step(15, f"clustering {len(rows)} opinions")
    result = analytics.cluster_texts(
        [t for _, t in rows],
        k=run.requested_k,
        previous=[previous.get(i) for i in ids] if previous else None,
        excluded=moderation_ops.blocked,
    )
    step(70, "finding earlier answers and groups of people")
    similar = _similar_answers(consultation, result, [t for _, t in rows])
    run.opinion_groups = opinion_groups_of(consultation)
    step(80, "storing the themes")
    keys = analytics.stable_ids(previous, ids, result.labels)
    for old in db.session.scalars(select(ThemeMember).where(ThemeMember.run_id == run.id)):
        db.session.delete(old)  # a retried job starts clean
    run.themes.clear()
    stored: list[tuple[Theme, object]] = []
    for cluster in result.clusters:
        theme = _theme(run, cluster, keys[cluster.id], ids, result.coordinates)
        theme.similar = similar[cluster.id]
        if theme.key in pinned:
            theme.label, theme.pinned = pinned[theme.key], True
        stored.append((theme, cluster))
        for n, child in enumerate(cluster.children):
            theme.children.append(_theme(run, child, n, ids, result.coordinates))
    if result.other:  # the opinions that fit no theme: one set, shown last
        other = _other_theme(run, result.other, ids, result.coordinates)
        stored.append((other, analytics.Cluster(OTHER_KEY, result.other, [], [], 0.0)))
    db.session.flush()
    by_key = {theme.key: theme for theme, _ in stored}
    members = []
    for theme, cluster in stored:
        sub = {}
        for child_theme, child in zip(theme.children, cluster.children, strict=True):
            sub.update(dict.fromkeys(child.members, child_theme.id))
        fit = dict(zip(cluster.members, cluster.fit, strict=False))
        core = set(cluster.core)
        for i in cluster.members:
            member = ThemeMember(
                run_id=run.id,
                opinion_id=ids[i],
                theme_id=theme.id,
                subtheme_id=sub.get(i),
                x=float(result.coordinates[i, 0]),
                y=float(result.coordinates[i, 1]),
                fit=fit.get(i),
                core=i in core,
            )
            # staff moved it last time: it stays in that theme while the theme exists
            kept = by_key.get(moved.get(ids[i], theme.key))
            if kept is not None and kept is not theme:
                move_member(member, theme, kept)
            members.append(member)
    db.session.add_all(members)
    run.model = _sealed(
        pickle.dumps(
            {"model": result.model, "keys": [int(key) for key in keys]},
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    )
    group_copies(consultation)  # the same near-copies the clustering counted once
    run.k, run.status, run.finished_at = result.k, DONE, utcnow()
    step(100, f"{result.k} themes")
    return run


#: the key of 「その他の意見」, the opinions that fit no theme (themes' keys start at 0)
OTHER_KEY = -1


def _other_theme(run: ThemeRun, members: list[int], ids: list[int], coordinates) -> Theme:
    where = coordinates[members].mean(axis=0)
    theme = Theme(
        run=run,
        key=OTHER_KEY,
        label="その他の意見",
        keywords=[],
        size=len(members),
        distinct=len(members),
        density=0.0,
        x=float(where[0]),
        y=float(where[1]),
        representatives=[ids[i] for i in members[:3]],
        copies=[],
        other=True,
    )
    db.session.add(theme)
    return theme


def move_member(member: ThemeMember, source: Theme, target: Theme) -> None:
    """Move an opinion from its theme (and finer theme) into ``target``, counts kept true."""
    opinion = member.opinion_id
    for theme in (source, *[c for c in source.children if c.id == member.subtheme_id]):
        theme.size -= 1
        theme.distinct = max(0, min(theme.distinct - 1, theme.size))
        theme.representatives = [i for i in theme.representatives if i != opinion]
        theme.copies = [
            kept for group in theme.copies if len(kept := [i for i in group if i != opinion]) > 1
        ]
    member.theme_id, member.subtheme_id, member.moved = target.id, None, True
    # staff chose the theme: an answer to it reaches this opinion (「その他」 is never
    # answered whole)
    member.core, member.fit = not target.other, None
    target.size += 1
    target.distinct += 1


#: earlier answered opinions compared with a grouping's themes (the most recent ones)
SIMILAR_POOL = 5000
SIMILAR_TOP = 3
# An earlier answer is suggested for a theme only when its opinion says the same as one of the
# theme's core (a near-copy: analytics.duplicates, folded trigram Jaccard >= 0.75). Measured on
# resident-voices (bench/analytics_bench.py, "earlier answers"): a suggestion by closeness of
# meaning is of the opinion's topic at most about 75 % of the time at any threshold, short of
# the 90 % an answer must reach to be offered; a near-copy is the same request.


#: fewer people reacting than this, or a smaller group: not shown (nobody can be singled out)
GROUPS_MIN_PEOPLE = 10
GROUP_MIN_SIZE = 3
VOTE = {ReactionKind.AGREE: 1.0, ReactionKind.DISAGREE: -1.0, ReactionKind.PASS: 0.0}


def opinion_groups_of(consultation: Consultation) -> dict | None:
    """Groups of people by how they reacted to the published opinions (Pol.is): each group's
    size and the opinions it agrees or disagrees with far more than the others, and the
    opinions every group agrees with. Only counts and opinion ids, never who is in a group."""
    import analytics

    rows = db.session.execute(
        select(Reaction.user_id, Reaction.opinion_id, Reaction.kind)
        .join(Opinion, Opinion.id == Reaction.opinion_id)
        .where(Opinion.consultation_id == consultation.id, Opinion.listed.is_(True))
    ).all()
    people = sorted({user for user, _, _ in rows})
    statements = sorted({opinion for _, opinion, _ in rows})
    if len(people) < GROUPS_MIN_PEOPLE or len(statements) < 2:
        return None
    person = {u: n for n, u in enumerate(people)}
    column = {o: n for n, o in enumerate(statements)}
    votes = np.full((len(people), len(statements)), np.nan)
    for user, opinion, kind in rows:
        votes[person[user], column[opinion]] = VOTE[ReactionKind(kind)]
    try:
        found = analytics.opinion_groups(
            votes, min_votes=min(analytics.MIN_VOTES, max(2, len(statements) // 2))
        )
    except ValueError:  # too few people voted on enough opinions
        return None
    groups = []
    for g in range(found.k):
        size = int((found.labels == g).sum())
        if size >= GROUP_MIN_SIZE:
            groups.append(
                {
                    "size": size,
                    "statements": [
                        {
                            "opinion": statements[s.index],
                            "stance": s.stance,
                            "rate": round(float(s.rate), 3),
                        }
                        for s in found.representative[g][:3]
                    ],
                }
            )
    if len(groups) < 2:
        return None
    return {
        "people": len(found.participants),
        "groups": groups,
        "consensus": [
            {"opinion": statements[i], "score": round(float(score), 3)}
            for i, score in found.consensus[:3]
        ],
    }


def _similar_answers(consultation: Consultation, result, texts: list[str]) -> list[list[int]]:
    """For each cluster, answered opinions of earlier (published) consultations that say the
    same as one of its core opinions: staff see how the ward answered that before."""
    import analytics.duplicates

    query = (
        select(Opinion.id, ModerationItem.public_text)
        .join(ModerationItem, ITEM_JOIN)
        .join(Consultation, Consultation.id == Opinion.consultation_id)
        .where(
            Consultation.id != consultation.id,
            Consultation.results_published_at.is_not(None),
            Opinion.listed.is_(True),
            Opinion.answer_id.is_not(None),
        )
        .order_by(Opinion.id.desc())
        .limit(SIMILAR_POOL)
    )
    pool = db.session.execute(query).all()
    found: list[list[int]] = [[] for _ in result.clusters]
    if not pool:
        return found
    core = [(c.id, i) for c in result.clusters for i in c.core]
    both = [texts[i] for _, i in core] + [t for _, t in pool]
    for group in analytics.duplicates.groups(both):
        earlier = [pool[j - len(core)][0] for j in group if j >= len(core)]
        for j in group:
            if j < len(core):
                cluster = core[j][0]
                found[cluster] += [i for i in earlier if i not in found[cluster]]
    return [ids[:SIMILAR_TOP] for ids in found]


def _theme(run: ThemeRun, cluster, key: int, ids: list[int], coordinates: np.ndarray) -> Theme:
    where = coordinates[cluster.members].mean(axis=0) if cluster.members else (0.0, 0.0)
    theme = Theme(
        run=run,
        key=int(key),
        label=cluster.label[:200] or "—",
        keywords=cluster.keywords,
        summary=cluster.summary[:200],
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


def _seal(data: bytes) -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), data, hashlib.sha256).digest()


def _sealed(data: bytes) -> bytes:
    """The pickled model behind an HMAC of the app's secret: a row changed by someone
    without the secret is never unpickled."""
    return _seal(data) + data


def _model(run: ThemeRun) -> dict:
    return _cached_model(run.id, run.finished_at.isoformat() if run.finished_at else "")


@lru_cache(maxsize=4)
def _cached_model(run_id: int, finished: str) -> dict:
    """The run's fitted model and the theme key of each of its clusters (kept in memory: a
    busy consultation places many opinions with the same model; ``finished`` tells runs of
    the same id in different databases apart)."""
    blob = db.session.scalar(select(ThemeRun.model).where(ThemeRun.id == run_id))
    if not blob or len(blob) <= 32:
        return {}
    seal, data = blob[:32], blob[32:]
    if not hmac.compare_digest(seal, _seal(data)):
        current_app.logger.error("the model of theme run %d fails its seal: not used", run_id)
        return {}
    return pickle.loads(data)  # noqa: S301 (sealed by this app's secret, checked above)


def place_new(consultation: Consultation) -> int:
    """Put the opinions that arrived since the last grouping into its themes, by the fitted
    model (no refit), and on its map; return how many. A full regrouping refines them."""
    run = latest(consultation, finished=True)
    if run is None:
        return 0
    rows = texts_of(consultation, not_in=run)
    stored = _model(run) if rows else {}
    if not stored:
        return 0
    scores, where = stored["model"].scores([t for _, t in rows])
    themes = {t.key: t for t in themes_of(run)}
    keys = stored["keys"]
    order = np.argsort(-scores, axis=1, kind="stable")
    placed = 0
    for n, (opinion_id, _text) in enumerate(rows):
        # the nearest cluster whose theme is still there (staff may have merged it away)
        theme = next((themes[keys[c]] for c in order[n] if keys[c] in themes), None)
        if theme is None:
            break
        db.session.add(
            ThemeMember(
                run_id=run.id,
                opinion_id=opinion_id,
                theme_id=theme.id,
                x=float(where[n, 0]),
                y=float(where[n, 1]),
                placed=True,
            )
        )
        theme.size += 1
        theme.distinct += 1
        placed += 1
    return placed


@jobs.handler("place_opinions")
def place_opinions(consultation_id: int) -> None:
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is not None and place_new(consultation):
        db.session.commit()


def group_copies(consultation: Consultation) -> int:
    """Find the near-copies (同趣旨) among the consultation's opinions (analytics.duplicates on
    the masked texts: folded trigram Jaccard >= 0.75) and point each at the first published
    one of its group (``OpinionCopy``), so public lists show a group once with its count;
    every opinion of the consultation gets its row (None: it copies nothing). Return how many
    point."""
    import analytics.duplicates

    rows = texts_of(consultation)
    listed = set(
        db.session.scalars(
            select(Opinion.id).where(
                Opinion.consultation_id == consultation.id, Opinion.listed.is_(True)
            )
        )
    )
    copy_of: dict[int, int] = {}
    for group in analytics.duplicates.groups([text for _, text in rows]):
        ids = [rows[i][0] for i in group]
        root = min((i for i in ids if i in listed), default=min(ids))
        copy_of.update((i, root) for i in ids if i != root)
    everyone = select(Opinion.id).where(Opinion.consultation_id == consultation.id)
    db.session.execute(delete(OpinionCopy).where(OpinionCopy.opinion_id.in_(everyone)))
    looked_at = [
        {"opinion_id": i, "copy_of_id": copy_of.get(i)} for i in db.session.scalars(everyone)
    ]
    if looked_at:
        db.session.execute(OpinionCopy.__table__.insert(), looked_at)
    return len(copy_of)


#: consultations whose copies are found again in one round of the worker's housekeeping
COPIES_PER_ROUND = 20


@jobs.every(30)
def find_new_copies() -> None:
    """Housekeeping: the consultations with opinions not yet looked at for near-copies have
    it done (a campaign of thousands is one search, not thousands)."""
    stale = db.session.scalars(
        select(Opinion.consultation_id)
        .where(~select(OpinionCopy.opinion_id).where(OpinionCopy.opinion_id == Opinion.id).exists())
        .distinct()
        .limit(COPIES_PER_ROUND)
    ).all()
    for consultation_id in stale:
        group_copies(db.session.get(Consultation, consultation_id))
        db.session.commit()


def _in_theme(theme_id: int):
    """The members of a theme or of a finer theme."""
    return or_(ThemeMember.theme_id == theme_id, ThemeMember.subtheme_id == theme_id)


def member_ids(theme_id: int, core_only: bool = False):
    """A select of the opinion ids of a theme or finer theme (``core_only``: its core, what a
    whole-theme answer reaches)."""
    members = select(ThemeMember.opinion_id).where(_in_theme(theme_id))
    return members.where(ThemeMember.core.is_(True)) if core_only else members


def fits_of(theme_id: int, opinion_ids: list[int]) -> dict[int, tuple[bool, float]]:
    """Of these opinions, each member's (in the core, fit) in a theme or finer theme."""
    return {
        opinion: (core, fit)
        for opinion, core, fit in db.session.execute(
            select(ThemeMember.opinion_id, ThemeMember.core, ThemeMember.fit).where(
                ThemeMember.opinion_id.in_(opinion_ids), _in_theme(theme_id)
            )
        )
    }


@signals.opinion_stored.connect
def on_new_opinion(consultation: Consultation, **_details) -> None:
    """Called when an opinion is stored: with a grouping to place it in, a job does so (the
    worker's housekeeping finds whether it says the same as others: find_new_copies)."""
    grouped = db.session.scalar(
        select(ThemeRun.id)
        .where(ThemeRun.consultation_id == consultation.id, ThemeRun.status == DONE)
        .limit(1)
    )
    if grouped is not None:
        jobs.enqueue("place_opinions", consultation_id=consultation.id)


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
    """The top-level themes, largest first; 「その他の意見」 last."""
    return sorted(
        (t for t in run.themes if t.parent_id is None), key=lambda t: (t.other, -t.size, t.key)
    )


def suggestions(consultation: Consultation, theme_id: int) -> list[tuple[Opinion, str]]:
    """Answered opinions of earlier consultations much like a theme of the last grouping (or
    of the theme a finer theme belongs to), with their public text: how the ward answered
    much the same before."""
    theme = db.session.get(Theme, theme_id)
    run = latest(consultation, finished=True)
    if theme is None or run is None or theme.run_id != run.id:
        return []
    if theme.parent_id is not None:
        theme = db.session.get(Theme, theme.parent_id)
    if not theme.similar:
        return []
    found = {
        o.id: o
        for o in db.session.scalars(
            select(Opinion)
            .join(Consultation, Consultation.id == Opinion.consultation_id)
            .where(
                Opinion.id.in_(theme.similar),
                Opinion.listed.is_(True),
                Opinion.answer_id.is_not(None),
                Consultation.results_published_at.is_not(None),
            )
        )
    }
    texts = public_texts(list(found))
    return [(found[i], texts.get(i, "")) for i in theme.similar if i in found]


def earlier_answer(answer_id: int, consultation: Consultation):
    """A published view of another consultation, to start a new one from; or None."""
    from app.consultations.models import Answer

    answer = db.session.get(Answer, answer_id)
    if answer is None or answer.consultation_id == consultation.id:
        return None
    if answer.consultation.results_published_at is None:
        return None
    return answer


MAP_POINTS = 2000  # at most this many dots (a sample of each theme), the table has them all


def map_points(run: ThemeRun, themes: list[Theme]) -> list[tuple[float, float, int]]:
    """(x, y, theme number) of a sample of the opinions, for the map; numbers as in
    ``themes`` (the order of themes_of)."""
    number = {t.id: n for n, t in enumerate(themes, start=1)}
    step = max(1, run.texts // MAP_POINTS)  # every step-th opinion, chosen in the database
    sample = db.session.execute(
        select(ThemeMember.x, ThemeMember.y, ThemeMember.theme_id).where(
            ThemeMember.run_id == run.id, ThemeMember.id % step == 0
        )
    )
    return [(x, y, number[t]) for x, y, t in sample if t in number]


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
