"""MeCab taggers (fugashi, unidic-lite) shared by every thread of a process, one thread at a
time each: for the moderation context, the search keys and the content words of the themes.

A tagger is not safe in two threads at once, and fugashi never gives back what a tagger
loaded when it is dropped (about 4 MB each): a tagger per thread, in a server that starts a
thread per request, grew the process by that much with every request that read Japanese.
Here a thread takes an idle tagger (a new one only when all are in use, so there are never
more than the threads that tag at the same moment) and puts it back.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator

_idle: queue.SimpleQueue = queue.SimpleQueue()
created = 0  # taggers made by this process (a few, whatever the number of threads)
_missing = False  # no MeCab dictionary here


def _new():
    global created, _missing
    try:
        import fugashi

        made = fugashi.Tagger()
    except (ImportError, RuntimeError):
        _missing = True
        return None
    created += 1
    return made


@contextlib.contextmanager
def tagger() -> Iterator:
    """An idle tagger for this thread until the block ends; None where there is no MeCab
    dictionary."""
    if _missing:
        yield None
        return
    try:
        taken = _idle.get_nowait()
    except queue.Empty:
        taken = _new()
    if taken is None:
        yield None
        return
    try:
        yield taken
    finally:
        _idle.put(taken)


def parse(text: str) -> str:
    """MeCab's text output for ``text`` (one line per word, then EOS)."""
    with tagger() as t:
        return t.parse(text)
