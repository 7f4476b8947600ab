"""How many people are in an event's room now, across every web process.

With Redis, a set per event holds the connections (``<process>:<sid>``); without it, a set in
this process. A process that dies leaves its entries until the event's set expires (a day
after its last change).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import defaultdict

import redis

KEY = "koe:presence:{event}"
EXPIRE = 24 * 3600


class Presence:
    def __init__(self, redis_url: str | None) -> None:
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._local: dict[int, set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"

    def join(self, event_id: int, sid: str) -> int:
        member = f"{self._process}:{sid}"
        if self._redis is None:
            with self._lock:
                self._local[event_id].add(member)
                return len(self._local[event_id])
        key = KEY.format(event=event_id)
        pipe = self._redis.pipeline()
        pipe.sadd(key, member).expire(key, EXPIRE).scard(key)
        return int(pipe.execute()[-1])

    def leave(self, event_id: int, sid: str) -> int:
        member = f"{self._process}:{sid}"
        if self._redis is None:
            with self._lock:
                self._local[event_id].discard(member)
                return len(self._local[event_id])
        key = KEY.format(event=event_id)
        pipe = self._redis.pipeline()
        pipe.srem(key, member).scard(key)
        return int(pipe.execute()[-1])

    def count(self, event_id: int) -> int:
        if self._redis is None:
            with self._lock:
                return len(self._local[event_id])
        return int(self._redis.scard(KEY.format(event=event_id)))
