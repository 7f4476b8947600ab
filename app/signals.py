"""Domain signals (blinker): how a feature tells the others what happened without importing
them. The sender sends after its own step, inside the same transaction (the receivers add
their rows or queue their jobs in it; nothing is committed or mailed from a receiver).

A receiver connects where it is defined (``@signals.opinion_stored.connect``); the app's
blueprints import every receiver's module when it starts, the web and the jobs process
alike.
"""

from __future__ import annotations

from blinker import Namespace

_koe = Namespace()

#: an opinion was stored: sender the consultation, ``opinion=`` the new opinion
opinion_stored = _koe.signal("opinion-stored")
