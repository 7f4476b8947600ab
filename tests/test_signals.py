"""What a receiver leaves for after the commit (``app.signals.after_commit``) runs once the
transaction commits, never after a rollback, and survives a savepoint rolled back inside it."""

from __future__ import annotations

from sqlalchemy import select

from app import signals


def test_after_commit_runs_on_commit_only(app, db):
    done = []
    db.session.execute(select(1))  # a transaction under way, as in an operation
    signals.after_commit(db.session(), lambda: done.append("first"))
    db.session.rollback()
    db.session.commit()
    assert done == []  # the rollback dropped it

    db.session.execute(select(1))
    signals.after_commit(db.session(), lambda: done.append("second"))
    savepoint = db.session.begin_nested()  # a savepoint, rolled back inside the transaction
    db.session.execute(select(1))
    savepoint.rollback()
    assert done == []
    db.session.commit()
    assert done == ["second"]
    db.session.commit()
    assert done == ["second"]  # once


def test_a_failing_action_leaves_the_commit_and_the_others(app, db):
    done = []

    def fails():
        raise RuntimeError("the room is gone")

    signals.after_commit(db.session(), fails)
    signals.after_commit(db.session(), lambda: done.append("told"))
    db.session.commit()
    assert done == ["told"]
