"""On SQLite, opinion posts that must become the one writer take turns in order.

SQLite lets one writer in at a time. The others wait in its busy handler, which sleeps 1, 2,
5, … up to 100 ms between tries and is not fair: in a burst of posts a waiting writer keeps
missing its turn while newer ones get in, and the unlucky wait for seconds. A request about to
become the writer (``BEGIN IMMEDIATE``, see ``consultations.operations.hold_key``) queues
instead on a lock file beside the database (``flock``: the kernel wakes the next one as soon as
it is free), behind a thread lock for the requests of its own process. Both are let go when
the connection goes back to the pool, that is when the transaction has committed or rolled
back. Other writers (short ones: a reaction, a session's last-seen time) still use the busy
handler. PostgreSQL needs none of this.
"""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.pool import Pool

_KEY = "koe_writer_turn"
_thread_turn = threading.Lock()  # flock is per open file: threads of a process queue here
_files: dict[str, int] = {}
_files_lock = threading.Lock()


def _lock_file(database: str) -> int:
    path = os.path.abspath(database) + ".writers"
    with _files_lock:
        if path not in _files:
            _files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return _files[path]


def begin_immediate(connection: Connection) -> None:
    """Start the transaction as SQLite's writer, after the writers queued before this one."""
    database = connection.engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        descriptor = _lock_file(database)
        _thread_turn.acquire()
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except BaseException:
            _thread_turn.release()
            raise
        connection.info[_KEY] = descriptor
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@event.listens_for(Pool, "checkin")
@event.listens_for(Pool, "invalidate")
def _end_of_turn(_dbapi_connection, record, *_exception) -> None:
    descriptor = record.info.pop(_KEY, None) if record is not None else None
    if descriptor is not None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        _thread_turn.release()
