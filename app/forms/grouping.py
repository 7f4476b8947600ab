"""The written answers of a question grouped into themes by the analytics library, in the
jobs process (never in a web request). Personal data is masked before the texts are grouped,
and only masked examples are kept."""

from __future__ import annotations

from sqlalchemy import select

import moderation
from app import audit, jobs
from app.auth.models import User
from app.extensions import db
from app.forms.models import TEXT_KINDS, FormField, Submission, TextGrouping
from app.moderation import operations as moderation_ops
from app.timeutil import utcnow

MIN_TEXTS = 2
EXAMPLES = 3


def request_grouping(question: FormField, staff: User) -> TextGrouping:
    if question.kind not in TEXT_KINDS:
        raise ValueError("only written answers are grouped")
    grouping = TextGrouping(form_id=question.form_id, field_id=question.id)
    db.session.add(grouping)
    db.session.flush()
    jobs.enqueue("group_form_answers", grouping_id=grouping.id)
    audit.record("form.group", question.form, actor=staff, details={"question": question.id})
    return grouping


def latest(question: FormField) -> TextGrouping | None:
    return db.session.scalar(
        select(TextGrouping)
        .where(TextGrouping.field_id == question.id)
        .order_by(TextGrouping.id.desc())
        .limit(1)
    )


@jobs.handler("group_form_answers")
def group_form_answers(grouping_id: int) -> None:
    import analytics  # scikit-learn and the word vectors: the jobs process only

    grouping = db.session.get(TextGrouping, grouping_id)
    if grouping is None:
        return
    question = db.session.get(FormField, grouping.field_id)
    grouping.status = "running"
    db.session.commit()
    texts = []
    for (answers,) in db.session.execute(
        select(Submission.answers).where(Submission.form_id == grouping.form_id)
    ).yield_per(1000):
        value = answers.get(question.key)
        if isinstance(value, str) and value.strip():
            texts.append(moderation.mask(value))
    grouping.texts = len(texts)
    if len(texts) < MIN_TEXTS:
        grouping.status, grouping.finished_at = "failed", utcnow()
        db.session.commit()
        return
    result = analytics.cluster_texts(texts, finer=False, excluded=moderation_ops.blocked)
    grouping.themes = [
        {
            "label": cluster.label,
            "keywords": cluster.keywords[:8],
            "size": cluster.size,
            "examples": [texts[i][:300] for i in cluster.representatives[:EXAMPLES]],
        }
        for cluster in sorted(result.clusters, key=lambda c: -c.size)
    ]
    if result.other:  # answers that fit no theme: one set, last, never dropped
        grouping.themes.append(
            {
                "label": "",
                "other": True,
                "keywords": [],
                "size": len(result.other),
                "examples": [texts[i][:300] for i in result.other[:EXAMPLES]],
            }
        )
    grouping.status, grouping.finished_at = "done", utcnow()
    db.session.commit()
