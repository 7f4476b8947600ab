"""MeCab taggers are shared by the threads of a process (moderation.tagging): a server that
starts a thread per request no longer makes (and, with fugashi, keeps) a tagger per request."""

from __future__ import annotations

import threading

from analytics.text import content_words
from app.search import reading
from moderation import tagging
from moderation.context import kills_a_pest


def _in_threads(work, count: int, at_once: bool) -> None:
    barrier = threading.Barrier(count) if at_once else None

    def run():
        if barrier is not None:
            barrier.wait()
        work()

    threads = [threading.Thread(target=run) for _ in range(count)]
    if at_once:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for t in threads:  # one after another, as a request's thread each
            t.start()
            t.join()


def _read_everything() -> None:
    text = "集積所のネズミを殺す薬をまいてほしい。公園のベンチを増やしてほしい。"
    assert content_words(text)
    assert reading("公園のゴミ") == "こうえんのごみ"
    assert kills_a_pest(text, text.index("殺す"), text.index("殺す") + 2)


def test_a_thread_per_request_makes_no_new_tagger():
    _read_everything()  # (a tagger exists)
    before = tagging.created
    _in_threads(_read_everything, 40, at_once=False)
    assert tagging.created == before


def test_threads_at_once_each_get_their_own_tagger_and_the_same_words():
    results = []
    lock = threading.Lock()

    def work():
        words = content_words("公園のベンチを増やしてほしい")
        with lock:
            results.append(tuple(words))

    before = tagging.created
    _in_threads(work, 6, at_once=True)
    assert len(set(results)) == 1 and results[0]
    assert tagging.created - before <= 6
    _in_threads(work, 6, at_once=True)  # the second round reuses them
    assert tagging.created - before <= 6
