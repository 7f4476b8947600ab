"""SQLite writers of opinion posts take turns in order (app/writer_turn.py)."""

from __future__ import annotations

import threading

import pytest

from app import writer_turn


@pytest.fixture
def engine(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the turn is for SQLite's one writer; PostgreSQL locks rows and keys")
    return db.engine


def test_the_next_writer_waits_for_the_first_to_end(engine):
    order = []

    def second():
        with engine.connect() as connection:
            writer_turn.begin_immediate(connection)
            order.append("second")
            connection.rollback()

    with engine.connect() as first:
        writer_turn.begin_immediate(first)
        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive(), "the second writer must wait for its turn"
        order.append("first")
        first.commit()
    # the connection went back to the pool: the turn passed on
    waiting.join(timeout=10)
    assert order == ["first", "second"]


def test_the_turn_is_let_go_after_an_error(engine):
    with pytest.raises(RuntimeError), engine.connect() as connection:
        writer_turn.begin_immediate(connection)
        raise RuntimeError("the request failed while it was the writer")
    done = threading.Event()

    def later():
        with engine.connect() as connection:
            writer_turn.begin_immediate(connection)
            connection.rollback()
        done.set()

    threading.Thread(target=later).start()
    assert done.wait(timeout=10), "a failed writer must not keep the turn"
