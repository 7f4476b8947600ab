"""How many people are in an event's room now, across every web process.

With Redis, a sorted set per event holds the connections (``<process>:<sid>``), each scored
with when its process last said it was still there: a process says so for all of its
connections every ``HEARTBEAT`` seconds, and the count takes only those heard of within
``STALE`` seconds. So the connections of a process that dies (killed, out of memory, its
machine gone) stop counting within a minute, and are removed at the next join. Without Redis,
a set in this process.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

import redis

KEY = "koe:presence:z:{event}"  # (a sorted set; "koe:presence:<event>" was a plain set)
EXPIRE = 24 * 3600  # an event's set, after its last change
HEARTBEAT = 20.0  # seconds between a process's "still here" for its connections
STALE = 60.0  # a connection not heard of for this long is not counted (its process died)


class Presence:
    def __init__(
        self,
        redis_url: str | None,
        spawn: Callable | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``spawn`` starts the heartbeat (the Socket.IO server's background task, so that
        it suits its async mode); ``clock`` is the wall clock, shared by every process."""
        self._redis = redis.Redis.from_url(redis_url) if redis_url else None
        self._members: dict[int, set[str]] = defaultdict(set)  # this process's connections
        self._lock = threading.Lock()
        self._process = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._spawn, self._sleep, self._clock = spawn, sleep, clock
        self._beating = False

    def join(self, event_id: int, sid: str) -> int:
        member = f"{self._process}:{sid}"
        with self._lock:
            self._members[event_id].add(member)
            here = len(self._members[event_id])
        if self._redis is None:
            return here
        self._start_heartbeat()
        now = self._clock()
        key = KEY.format(event=event_id)
        pipe = self._redis.pipeline()
        pipe.zadd(key, {member: now}).expire(key, EXPIRE)
        pipe.zremrangebyscore(key, "-inf", now - STALE)  # the dead processes' leftovers
        pipe.zcard(key)
        return int(pipe.execute()[-1])

    def leave(self, event_id: int, sid: str) -> int:
        member = f"{self._process}:{sid}"
        with self._lock:
            members = self._members.get(event_id, set())
            members.discard(member)
            here = len(members)
            if not members:
                self._members.pop(event_id, None)
        if self._redis is None:
            return here
        key = KEY.format(event=event_id)
        pipe = self._redis.pipeline()
        pipe.zrem(key, member).zcount(key, self._clock() - STALE, "+inf")
        return int(pipe.execute()[-1])

    def count(self, event_id: int) -> int:
        if self._redis is None:
            with self._lock:
                return len(self._members.get(event_id, ()))
        key = KEY.format(event=event_id)
        return int(self._redis.zcount(key, self._clock() - STALE, "+inf"))

    def beat(self) -> None:
        """Say that this process's connections are still here (one command per event)."""
        if self._redis is None:
            return
        with self._lock:
            rooms = {event_id: list(members) for event_id, members in self._members.items()}
        if not rooms:
            return
        now = self._clock()
        pipe = self._redis.pipeline()
        for event_id, members in rooms.items():
            key = KEY.format(event=event_id)
            pipe.zadd(key, dict.fromkeys(members, now)).expire(key, EXPIRE)
        pipe.execute()

    def _start_heartbeat(self) -> None:
        if self._beating or self._spawn is None:
            return
        with self._lock:
            if self._beating:
                return
            self._beating = True
        self._spawn(self._heartbeat)

    def _heartbeat(self) -> None:
        while True:
            self._sleep(HEARTBEAT)
            with contextlib.suppress(redis.RedisError):  # away for a moment: said again next
                self.beat()
