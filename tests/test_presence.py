"""The presence count across processes (realtime/presence.py) against a real Redis: the
connections of a process that dies stop counting once its heartbeat stops."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from realtime import presence as presence_module
from realtime.presence import STALE, Presence

REDIS = os.environ.get("KOE_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS, reason="KOE_TEST_REDIS_URL is not set (no Redis)")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def event_id():
    event = int(uuid.uuid4().int % 10**9) + 10**9  # a room of its own in the shared Redis
    yield event
    redis.Redis.from_url(REDIS).delete(presence_module.KEY.format(event=event))


def test_a_dead_process_stops_counting_and_a_live_one_goes_on(event_id):
    clock = Clock()
    alive, dying = Presence(REDIS, clock=clock), Presence(REDIS, clock=clock)
    assert alive.join(event_id, "a1") == 1
    assert dying.join(event_id, "d1") == 2
    assert dying.join(event_id, "d2") == 3
    assert alive.count(event_id) == dying.count(event_id) == 3
    # time passes: the live process beats, the dying one has died (no more beats)
    clock.now += STALE / 2
    alive.beat()
    clock.now += STALE / 2 + 1
    assert alive.count(event_id) == 1  # only the connection still vouched for
    # a join removes the dead ones' leftovers for good
    assert alive.join(event_id, "a2") == 2
    assert redis.Redis.from_url(REDIS).zcard(presence_module.KEY.format(event=event_id)) == 2
    assert alive.leave(event_id, "a1") == 1
    assert alive.leave(event_id, "a1") == 1  # twice: harmless


def test_the_heartbeat_runs_by_itself(event_id):
    clock = Clock()
    beats = []

    def spawn(fn):  # run the heartbeat loop for two rounds, here
        def sleep(_seconds):
            if len(beats) == 2:
                raise StopIteration
            clock.now += STALE - 1
            beats.append(clock.now)

        process._sleep = sleep
        with pytest.raises(StopIteration):
            fn()

    process = Presence(REDIS, spawn=spawn, clock=clock)
    process.join(event_id, "s1")
    assert len(beats) == 2
    assert process.count(event_id) == 1  # kept alive across 2 × (STALE - 1) seconds


def test_without_redis_the_process_counts_its_own():
    local = Presence(None)
    assert local.join(1, "x") == 1 and local.join(1, "y") == 2
    assert local.leave(1, "x") == 1 and local.count(1) == 1
    assert local.count(2) == 0
