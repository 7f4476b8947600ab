"""Domain signals (blinker): how a feature tells the others what happened without importing
them. The sender sends after its own step, inside the same transaction (the receivers add
their rows or queue their jobs in it; nothing is committed or mailed from a receiver).

A receiver connects where it is defined (``@signals.opinion_stored.connect``); the app's
blueprints import every receiver's module when it starts, the web and the jobs process
alike.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from blinker import Namespace
from sqlalchemy import event
from sqlalchemy.orm import Session

_koe = Namespace()
_PENDING = "koe_after_commit"
log = logging.getLogger(__name__)

#: an opinion was stored: sender the consultation, ``opinion=`` the new opinion
opinion_stored = _koe.signal("opinion-stored")

#: a moderator decided on a text: sender the ModerationItem, ``decision=`` "approve",
#: "reject" or "take_down" (from the moderation queue or a live page alike)
text_decided = _koe.signal("text-decided")


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once ``session``'s transaction has committed (an emit, a mail): never
    for a transaction that rolls back. It may not read the database (the transaction is
    over): what it sends is made before."""
    session.info.setdefault(_PENDING, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    for action in session.info.pop(_PENDING, []):
        try:
            action()
        except Exception:  # the commit stands; a page that missed it catches up on reload
            log.exception("an action after the commit failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint in it
        session.info.pop(_PENDING, None)
