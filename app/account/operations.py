"""Profile operations and the export of everything Koe holds about a person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app import audit
from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.moderation import operations as moderation_ops
from app.timeutil import as_utc

if TYPE_CHECKING:
    from moderation import ScanResult


def update_profile(user: User, data: dict[str, Any], name_scan: ScanResult | None = None) -> None:
    """Store the display name and personal details; the audit entry names fields, not values.

    A new display name is recorded for moderation with its scan (``name_scan``).
    """
    changed = []
    if data["display_name"] != user.display_name:
        user.display_name = data["display_name"]
        changed.append("display_name")
        if name_scan is not None:
            moderation_ops.record(moderation_ops.DISPLAY_NAME, user.id, user, name_scan)
    profile = user.profile or Profile(user=user)
    for name in Profile.FIELDS:
        if getattr(profile, name) != data.get(name):
            setattr(profile, name, data.get(name))
            changed.append(name)
    if changed:
        db.session.add(profile)
        audit.record("user.profile", user, actor=user, details={"fields": changed})


def _iso(value) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def export_data(user: User) -> dict[str, Any]:
    """Return all personal data Koe holds about ``user``, for display and download."""
    profile = user.profile
    activity = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.actor_id == user.id)
        .order_by(AuditEntry.created_at.desc())
        .limit(500)
    )
    return {
        "account": {
            "id": user.id,
            "display_name": user.display_name,
            "email": user.email,
            "email_verified_at": _iso(user.email_verified_at),
            "role": user.role.value,
            "locale": user.locale,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "profile": {name: getattr(profile, name) if profile else None for name in Profile.FIELDS},
        "sessions": [
            {"created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at)}
            for s in user.sessions
        ],
        "texts": [
            {
                "source": item.source,
                "source_id": item.source_id,
                "status": item.status.value,
                "at": _iso(item.created_at),
                "text": item.original_text,
                "public_text": item.public_text,
            }
            for item in moderation_ops.texts_of(user)
        ],
        "sanctions": [
            {
                "kind": s.kind.value,
                "from": _iso(s.starts_at),
                "until": _iso(s.ends_at),
                "lifted_at": _iso(s.lifted_at),
                "reason": s.reason,
            }
            for s in moderation_ops.sanctions_of(user)
        ],
        "activity": [{"at": _iso(e.created_at), "action": e.action, "ip": e.ip} for e in activity],
        **_contributions(user),
    }


def _rows(model, *where, order=None) -> list:
    return list(db.session.scalars(select(model).where(*where).order_by(order or model.id)))


def _contributions(user: User) -> dict[str, list[dict[str, Any]]]:
    """What the person did in each feature: their opinions, reactions, follows, form answers,
    drafts, event registrations, questions, votes, chat messages and notifications.

    Only their own rows: what they reacted to or voted for is named by its id and title, never
    by another person's text or name.
    """
    # the features build on the account, not the other way round: imported where used
    from app.consultations.models import Follow, Opinion, Reaction
    from app.events.chat_models import ChatMeasure, ChatMessage
    from app.events.models import Registration
    from app.events.qa_models import Question, QuestionVote
    from app.forms.models import Draft, Submission
    from app.moderation.models import Report
    from app.notifications.models import Notification

    uid = user.id
    return {
        "opinions": [
            {
                "id": o.id,
                "receipt_code": o.receipt_code,
                "consultation": {"id": o.consultation_id, "title": o.consultation.title},
                "section": o.section.heading if o.section else None,
                "channel": o.channel.value,
                "show_name": o.show_name,
                "age_band": o.age_band,
                "area": o.area,
                "created_at": _iso(o.created_at),
                "withdrawn_at": _iso(o.withdrawn_at),
                "disposition": o.disposition.value if o.disposition else None,
                "disposition_reason": o.disposition_reason,
            }
            for o in _rows(Opinion, Opinion.author_id == uid)
        ],
        "reactions": [
            {"opinion_id": r.opinion_id, "kind": r.kind.value, "at": _iso(r.updated_at)}
            for r in _rows(Reaction, Reaction.user_id == uid)
        ],
        "follows": [
            {"consultation_id": f.consultation_id, "since": _iso(f.created_at)}
            for f in _rows(Follow, Follow.user_id == uid)
        ],
        "form_answers": [
            {
                "form": {"id": s.form_id, "title": s.form.title},
                "receipt_code": s.receipt_code,
                "answers": s.answers,
                "at": _iso(s.created_at),
            }
            for s in _rows(Submission, Submission.user_id == uid)
        ],
        "form_drafts": [
            {"form_id": d.form_id, "values": d.values, "saved_at": _iso(d.updated_at)}
            for d in _rows(Draft, Draft.user_id == uid)
        ],
        "event_registrations": [
            {
                "event": {"id": r.event_id, "title": r.event.title},
                "status": r.status.value,
                "attendance": r.attendance.value,
                "at": _iso(r.created_at),
                "cancelled_at": _iso(r.cancelled_at),
            }
            for r in _rows(Registration, Registration.user_id == uid)
        ],
        "event_questions": [
            {
                "id": q.id,
                "event_id": q.event_id,
                "anonymous": q.anonymous,
                "state": q.state.value,
                "votes": q.votes,
                "at": _iso(q.created_at),
            }
            for q in _rows(Question, Question.author_id == uid)
        ],
        "question_votes": [
            {"question_id": v.question_id, "at": _iso(v.created_at)}
            for v in _rows(QuestionVote, QuestionVote.user_id == uid)
        ],
        "chat_messages": [
            {
                "id": m.id,
                "event_id": m.event_id,
                "at": _iso(m.created_at),
                "hidden_at": _iso(m.hidden_at),
            }
            for m in _rows(ChatMessage, ChatMessage.author_id == uid)
        ],
        "chat_measures": [
            {
                "event_id": m.event_id,
                "kind": m.kind.value,
                "until": _iso(m.until),
                "at": _iso(m.created_at),
            }
            for m in _rows(ChatMeasure, ChatMeasure.user_id == uid)
        ],
        "reports": [
            {"item_id": r.item_id, "reason": r.reason, "at": _iso(r.created_at)}
            for r in _rows(Report, Report.reporter_id == uid)
        ],
        "notifications": [
            {
                "kind": n.kind,
                "params": n.params,
                "link": n.link,
                "at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
            }
            for n in _rows(Notification, Notification.user_id == uid)
        ],
    }
