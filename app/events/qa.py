"""Q&A of an event, apart from the chat: ask (named, or anonymous when the event allows it),
upvote, and the moderators' approve, dismiss, "answering now" and answered. Staff can turn a
question into an opinion on a consultation (it then joins that consultation's themes).

Like ``app.events.chat``, these operations never commit and never emit; ``realtime.live``
and the plain forms in ``app.events.live_routes`` do, after their commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, cast, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit, jobs
from app.auth.models import Role, User
from app.consultations import operations as consultation_ops
from app.consultations.models import Channel, Consultation, Opinion
from app.events.chat import (
    CLIENT_ID,
    ChatRefused,
    _event_pages,
    chat_open,
    is_moderator,
    measure_in_force,
    posting_refused,
    written,
)
from app.events.chat_models import MeasureKind
from app.events.models import Event
from app.events.operations import may_watch
from app.events.qa_models import QUESTION, Question, QuestionState, QuestionVote
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.moderation.models import ItemStatus, ModerationItem
from app.timeutil import as_utc, utcnow

QUESTION_MAX = 300  # characters (NFC): a question, not a speech


@moderation_ops.place_of(QUESTION)
def _question_pages(source_ids: list[str]) -> dict[str, tuple[str, str]]:
    """A question's page is its event's."""
    return _event_pages(Question, source_ids)


#: what moderators may do to a question, and from which states
ACTIONS = {
    "approve": {QuestionState.PENDING, QuestionState.DISMISSED},
    "dismiss": {QuestionState.PENDING, QuestionState.OPEN, QuestionState.ANSWERING},
    "answering": {QuestionState.OPEN, QuestionState.PENDING, QuestionState.ANSWERED},
    "answered": {QuestionState.ANSWERING, QuestionState.OPEN},
    "reopen": {QuestionState.ANSWERED, QuestionState.ANSWERING},
}
LISTED = (QuestionState.OPEN, QuestionState.ANSWERING, QuestionState.ANSWERED)

REFUSALS = {
    "questions_off": _l("This event takes no questions."),
    "anonymous_off": _l("Questions at this event are asked with your name."),
    "question_empty": _l("Write your question."),
    "own_question": _l("You cannot vote for your own question."),
    "not_listed": _l("Only listed questions can be voted for."),
    "state": _l("That cannot be done to this question now."),
}


def _refuse(code: str) -> ChatRefused:
    return ChatRefused(code, str(REFUSALS[code]))


@dataclass
class Asked:
    question: Question
    item: ModerationItem
    created: bool


def _find(user: User, client_id: str) -> Question | None:
    return db.session.scalar(
        select(Question).where(Question.author_id == user.id, Question.client_id == client_id)
    )


def item_of(question: Question) -> ModerationItem:
    return db.session.scalar(
        select(ModerationItem).where(
            ModerationItem.source == QUESTION, ModerationItem.source_id == str(question.id)
        )
    )


def ask(
    event: Event, user: User | None, client_id: object, text: object, anonymous: object = False
) -> Asked:
    """Store a question once per client id; it is listed at once unless the event screens
    questions or the checks held it."""
    if user is None:
        raise ChatRefused("login")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ChatRefused("client_id")
    existing = _find(user, client_id)
    if existing is not None:
        return Asked(existing, item_of(existing), created=False)
    if not may_watch(event, user):
        raise ChatRefused("not_allowed")
    if not event.questions_enabled:
        raise _refuse("questions_off")
    if not chat_open(event):
        raise ChatRefused("closed")
    posting_refused(user)
    anonymous = anonymous is True or anonymous in ("1", "on", "true")
    if anonymous and not event.questions_anonymous:
        raise _refuse("anonymous_off")
    measure = measure_in_force(event, user)
    if measure is not None and measure.kind in (MeasureKind.BAN, MeasureKind.TIMEOUT):
        raise ChatRefused("banned" if measure.kind == MeasureKind.BAN else "timeout")
    text = written(
        text,
        QUESTION_MAX,
        _refuse("question_empty"),
        _l("Shorten the question by %(over)d characters (at most %(max)d)."),
    )
    scan = moderation_ops.scan_text(text, user, spam=True)
    if scan.verdict == "reject":
        raise ChatRefused("rejected", scan.verdict.message(str(get_locale())))
    screened = (
        event.questions_moderated
        or scan.verdict != "publish"
        or (measure is not None and measure.kind == MeasureKind.MUTE)
    )
    question = Question(
        event_id=event.id,
        author_id=user.id,
        client_id=client_id,
        anonymous=anonymous,
        state=QuestionState.PENDING if screened else QuestionState.OPEN,
    )
    try:
        with db.session.begin_nested():
            db.session.add(question)
            db.session.flush()
    except IntegrityError:  # the same client id from another connection, at the same moment
        existing = _find(user, client_id)
        return Asked(existing, item_of(existing), created=False)
    item = moderation_ops.record(QUESTION, question.id, user, scan)
    db.session.flush()
    return Asked(question, item, created=True)


def is_listed(question: Question, item: ModerationItem) -> bool:
    """Whether everyone sees the question (approved state, and its text published)."""
    return question.state in LISTED and item.status == ItemStatus.PUBLISHED


def _joined():
    return select(Question, ModerationItem).join(
        ModerationItem,
        and_(
            ModerationItem.source == QUESTION,
            ModerationItem.source_id == cast(Question.id, db.String),
        ),
    )


def questions(event: Event, viewer: User | None) -> list[dict]:
    """What ``viewer`` sees: the listed questions, their own however they stand, and for
    moderators every question; most votes first, answering now on top, answered last."""
    listed = and_(Question.state.in_(LISTED), ModerationItem.status == ItemStatus.PUBLISHED)
    query = _joined().where(Question.event_id == event.id)
    if not is_moderator(viewer):
        query = query.where(
            or_(listed, Question.author_id == viewer.id) if viewer is not None else listed
        )
    rows = db.session.execute(query).all()
    order = {
        QuestionState.ANSWERING: 0,
        QuestionState.PENDING: 1,
        QuestionState.OPEN: 2,
        QuestionState.ANSWERED: 3,
        QuestionState.DISMISSED: 4,
    }
    rows.sort(key=lambda r: (order[r[0].state], -r[0].votes, r[0].id))
    voted = my_votes([q.id for q, _item in rows], viewer)
    return describe(rows, viewer, voted)


def my_votes(question_ids: list[int], viewer: User | None) -> set[int]:
    if viewer is None or not question_ids:
        return set()
    return set(
        db.session.scalars(
            select(QuestionVote.question_id).where(
                QuestionVote.user_id == viewer.id, QuestionVote.question_id.in_(question_ids)
            )
        )
    )


def describe(rows, viewer: User | None = None, voted: set[int] = frozenset()) -> list[dict]:
    """Questions as clients and pages show them: never the original of a masked text, never
    the name of an anonymous asker (moderators included: they see it on the staff page)."""
    named = [q.author for q, _item in rows if q.author is not None and not q.anonymous]
    names = moderation_ops.public_names(named)
    anonymous = str(_l("Anonymous"))
    return [
        {
            "id": q.id,
            "event": q.event_id,
            "author": anonymous if q.anonymous else (names.get(q.author_id) or anonymous),
            "text": item.public_text,
            "state": q.state.value,
            "votes": q.votes,
            "at": as_utc(q.created_at).isoformat(),
            "mine": viewer is not None and viewer.id == q.author_id,
            "voted": q.id in voted,
            "held": item.status != ItemStatus.PUBLISHED,
            "opinion": q.opinion_id is not None,
        }
        for q, item in rows
    ]


def describe_one(question: Question, viewer: User | None = None) -> dict:
    (payload,) = describe([(question, item_of(question))], viewer, my_votes([question.id], viewer))
    return payload


def question_of(event: Event, question_id: object) -> Question:
    if not isinstance(question_id, int) or isinstance(question_id, bool):
        raise ChatRefused("bad_request")
    question = db.session.get(Question, question_id)
    if question is None or question.event_id != event.id:
        raise ChatRefused("not_found")
    return question


def vote(question: Question, user: User | None, up: object = True) -> bool:
    """Upvote (``up``) or take one's vote back; once per person. Return whether it changed."""
    if user is None:
        raise ChatRefused("login")
    if not isinstance(up, bool):
        raise ChatRefused("bad_request")
    event = db.session.get(Event, question.event_id)
    if not may_watch(event, user):
        raise ChatRefused("not_allowed")
    if question.author_id == user.id:
        raise _refuse("own_question")
    if question.state not in (QuestionState.OPEN, QuestionState.ANSWERING):
        raise _refuse("not_listed")
    if not is_listed(question, item_of(question)):
        raise _refuse("not_listed")
    if up:
        try:
            with db.session.begin_nested():
                db.session.add(QuestionVote(question_id=question.id, user_id=user.id))
                db.session.flush()
        except IntegrityError:  # voted already (maybe in another tab at the same moment)
            return False
        change = 1
    else:
        gone = db.session.execute(
            delete(QuestionVote).where(
                QuestionVote.question_id == question.id, QuestionVote.user_id == user.id
            )
        ).rowcount
        if not gone:
            return False
        change = -1
    # counted in the database, not from the loaded value: two votes at once both count
    db.session.execute(
        update(Question).where(Question.id == question.id).values(votes=Question.votes + change)
    )
    db.session.refresh(question)
    return True


def decide(question: Question, action: object, moderator: User | None) -> list[Question]:
    """A moderator's step; return every question whose state changed (starting to answer
    one question marks the one answered before it as answered)."""
    if not is_moderator(moderator):
        raise ChatRefused("forbidden")
    if action not in ACTIONS:
        raise ChatRefused("bad_request")
    if question.state not in ACTIONS[action]:
        raise _refuse("state")
    changed = [question]
    item = item_of(question)
    if action in ("approve", "answering") and item.status == ItemStatus.HELD:
        moderation_ops.approve(item, moderator)  # the text is published with the question
    if action in ("approve", "reopen"):
        question.state = QuestionState.OPEN
        question.answered_at = None
    elif action == "dismiss":
        question.state = QuestionState.DISMISSED
    elif action == "answering":
        for other in db.session.scalars(
            select(Question).where(
                Question.event_id == question.event_id,
                Question.state == QuestionState.ANSWERING,
                Question.id != question.id,
            )
        ):
            other.state, other.answered_at = QuestionState.ANSWERED, utcnow()
            changed.append(other)
        question.state = QuestionState.ANSWERING
    else:
        question.state, question.answered_at = QuestionState.ANSWERED, utcnow()
    question.decided_by_id = moderator.id
    audit.record(
        f"question.{action}", question, actor=moderator, details={"event": question.event_id}
    )
    return changed


def finish_answering(event: Event, at: datetime | None = None) -> list[Question]:
    """The stream ended: the question being answered then was answered (it goes to the
    archive with the others); return the questions that changed."""
    at = at or utcnow()
    changed = list(
        db.session.scalars(
            select(Question).where(
                Question.event_id == event.id, Question.state == QuestionState.ANSWERING
            )
        )
    )
    for question in changed:
        question.state, question.answered_at = QuestionState.ANSWERED, at
        audit.record(
            "question.answered",
            question,
            details={"event": event.id, "at_the_end": True},
        )
    return changed


def answered(event: Event) -> list[dict]:
    """The archive's questions: those answered, and the one still being answered when the
    event ended (nobody marked it before the stream stopped), most votes first."""
    return [
        q
        for q in questions(event, None)
        if q["state"] in (QuestionState.ANSWERED.value, QuestionState.ANSWERING.value)
    ]


def pending_count(event: Event) -> int:
    return len(
        db.session.scalars(
            select(Question.id).where(
                Question.event_id == event.id, Question.state == QuestionState.PENDING
            )
        ).all()
    )


# --- into a consultation ---------------------------------------------------------------------


def open_consultations() -> list[Consultation]:
    """Consultations a question can be added to (they take entered opinions now)."""
    return [
        c
        for c in db.session.scalars(select(Consultation).order_by(Consultation.id.desc()))
        if c.current_state() in consultation_ops.ENTRY_STATES
    ]


def to_opinion(question: Question, consultation: Consultation, staff: User | None) -> Opinion:
    """Enter the question as an opinion on ``consultation`` (channel "event", no author: the
    asker did not post it there themselves); its text passes moderation again there."""
    if staff is None or not staff.has_role(Role.STAFF):
        raise ChatRefused("forbidden")
    if question.opinion_id is not None:
        raise _refuse("state")
    item = item_of(question)
    scan = moderation_ops.scan_text(item.original_text, None, spam=False)
    if scan.verdict == "reject":
        raise ChatRefused("rejected", scan.verdict.message(str(get_locale())))
    try:
        opinion = consultation_ops.enter_opinion(
            consultation, staff, scan, channel=Channel.EVENT, received_at=question.created_at
        )
    except consultation_ops.NotAllowed:
        raise _refuse("state") from None
    question.opinion_id = opinion.id
    audit.record(
        "question.to_opinion",
        question,
        actor=staff,
        details={"event": question.event_id, "consultation": consultation.id},
    )
    return opinion


def texts_for_themes(event: Event) -> list[tuple[int, str]]:
    """The questions' public texts (personal data masked: the themes' names are shown), for
    ``analytics.cluster_texts``."""
    rows = db.session.execute(
        _joined()
        .where(Question.event_id == event.id, ModerationItem.status != ItemStatus.REJECTED)
        .order_by(Question.id)
    ).all()
    return [(q.id, item.public_text) for q, item in rows]


MIN_FOR_THEMES = 4  # fewer questions are read, not grouped


def request_themes(event: Event, staff: User | None) -> None:
    """Group the event's questions by theme, in the jobs worker (clustering is CPU work)."""
    if staff is None or not staff.has_role(Role.STAFF):
        raise ChatRefused("forbidden")
    jobs.enqueue("cluster_event_questions", event_id=event.id)
    audit.record("question.themes", event, actor=staff, details={"event": event.id})


@jobs.handler("cluster_event_questions")
def cluster_event_questions(event_id: int) -> None:
    """``analytics.cluster_texts`` over the questions (Japanese and English alike); each theme
    keeps its keywords and its questions, the most typical first."""
    from analytics import cluster_texts

    event = db.session.get(Event, event_id)
    if event is None:
        return
    rows = texts_for_themes(event)
    themes = []
    if len(rows) >= MIN_FOR_THEMES:
        result = cluster_texts([text for _id, text in rows], excluded=moderation_ops.blocked)
        for cluster in sorted(result.clusters, key=lambda c: -c.size):
            members = [rows[i][0] for i, label in enumerate(result.labels) if label == cluster.id]
            typical = [rows[i][0] for i in cluster.representatives]
            ordered = typical + [m for m in members if m not in typical]
            themes.append({"keywords": list(cluster.keywords[:5]), "questions": ordered})
        if result.other:  # questions that fit no theme: one set, last, never dropped
            themes.append(
                {"keywords": [], "other": True, "questions": [rows[i][0] for i in result.other]}
            )
    event.question_themes = themes
    event.question_themes_at = utcnow()
    db.session.commit()


def themes_of(event: Event) -> list[dict] | None:
    """The stored themes with each question's public text (for staff pages)."""
    if event.question_themes is None:
        return None
    ids = [qid for theme in event.question_themes for qid in theme["questions"]]
    texts = dict(
        db.session.execute(
            select(ModerationItem.source_id, ModerationItem.public_text).where(
                ModerationItem.source == QUESTION,
                ModerationItem.source_id.in_([str(i) for i in ids]),
            )
        ).all()
    )
    return [
        {
            "keywords": theme["keywords"],
            "questions": [texts[str(q)] for q in theme["questions"] if str(q) in texts],
        }
        for theme in event.question_themes
    ]


def forget_votes_of(user: User) -> None:
    """A deleted account's votes go with it (the counts follow)."""
    for question_id in db.session.scalars(
        select(QuestionVote.question_id).where(QuestionVote.user_id == user.id)
    ).all():
        db.session.execute(
            update(Question).where(Question.id == question_id).values(votes=Question.votes - 1)
        )
    db.session.execute(delete(QuestionVote).where(QuestionVote.user_id == user.id))
