"""How fast one connection may send socket events: a token bucket per connection and kind of
event, so that one client (a stuck script, a flood of ``join`` or of events nobody knows)
costs the others nothing. An event over its kind's pace is refused before it reads the
database; a connection that keeps sending after many refusals is closed.

Kinds: each handled event is its own kind (``leave`` counts with ``join``); every event the
namespace does not know counts as ``unknown``, so that inventing names makes no new buckets.
The state is per web process: a connection lives in one process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: (events, seconds): a burst of ``events``, then ``events`` per ``seconds`` on average
DEFAULT_RATES: dict[str, tuple[int, float]] = {
    "join": (4, 10),  # a page joins once per connection; a reconnect is a new connection
    "unknown": (3, 10),  # an event no page sends: a mistake, or someone trying names
    "send": (10, 10),  # the chat's own limit (5 in 10 s per person) refuses the rest politely
    "ask": (10, 10),
    "vote": (20, 10),
    "report": (10, 10),
    "caption": (40, 10),  # captioners type a line every few seconds, sometimes faster
    "*": (30, 10),  # the moderators' measures and anything else
}
ALIASES = {"leave": "join"}
#: refused events a connection may send in a row (refilled at a tenth a second) before it is
#: closed: a page never gets there, a flood does within a second
REFUSALS_BEFORE_CLOSING = 30
#: seconds a refused event waits before its answer, in its connection's own thread
REFUSED_WAIT = 0.05


class Pace:
    def __init__(
        self,
        rates: dict[str, tuple[int, float]] | None = None,
        refusals: int = REFUSALS_BEFORE_CLOSING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self.refusals = refusals
        self.refused_wait = REFUSED_WAIT
        self._clock = clock
        self._lock = threading.Lock()
        # sid → kind → [tokens, last refill]; "!refused" counts refusals the same way
        self._buckets: dict[str, dict[str, list[float]]] = {}
        # sid → the language of its page, chosen once on connecting: a refusal is said in it
        # without looking the person up again
        self._languages: dict[str, str] = {}

    def kind(self, event: str, known: bool) -> str:
        if not known:
            return "unknown"
        event = ALIASES.get(event, event)
        return event if event in self.rates else "*"

    def _take(self, buckets: dict[str, list[float]], key: str, size: int, per: float) -> bool:
        now = self._clock()
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = [float(size), now]
        tokens = min(float(size), bucket[0] + (now - bucket[1]) * size / per)
        bucket[1] = now
        if tokens < 1:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1
        return True

    def allow(self, sid: str, kind: str) -> bool:
        """Whether the connection may have this event now (and count it)."""
        size, per = self.rates[kind]
        with self._lock:
            return self._take(self._buckets.setdefault(sid, {}), kind, size, per)

    def refused(self, sid: str) -> bool:
        """Count a refusal; whether the connection has flooded on past every refusal (close it)."""
        with self._lock:
            buckets = self._buckets.setdefault(sid, {})
            return not self._take(buckets, "!refused", self.refusals, self.refusals * 10)

    def speaks(self, sid: str, language: str) -> None:
        with self._lock:
            self._languages[sid] = language

    def language(self, sid: str) -> str | None:
        return self._languages.get(sid)

    def forget(self, sid: str) -> None:
        with self._lock:
            self._buckets.pop(sid, None)
            self._languages.pop(sid, None)

    def __len__(self) -> int:
        return len(self._buckets)
