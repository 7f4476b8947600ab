"""Spam and flood checks against the author's and everyone's recent posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import Post, SpamPolicy
from moderation.spam import _jaccard, _shingles, _similar, similarity, spam_reasons

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_similarity():
    assert similarity("公園の遊具を新しくしてください", "公園の遊具を新しくしてください") == 1.0
    assert similarity("公園の遊具を新しくしてください", "公園の遊具を新しくしてください！") > 0.9
    assert similarity("公園の遊具を新しくしてください", "図書館の開館時間を延ばしてほしい") < 0.2


def test_duplicate_from_the_same_author():
    history = [Post("保育園の定員を増やしてください。", ago(30), 1)]
    assert "duplicate" in spam_reasons(
        "保育園の定員を 増やしてください", history=history, now=NOW, author=1
    )
    assert spam_reasons("駅前の駐輪場を広げてください。", history=history, now=NOW, author=1) == []
    old = [Post("保育園の定員を増やしてください。", NOW - timedelta(days=2), 1)]
    assert spam_reasons("保育園の定員を増やしてください。", history=old, now=NOW, author=1) == []


def test_flood():
    history = [Post(f"意見その{i}です、よろしく", ago(0.1 * i), 1) for i in range(5)]
    assert "flood" in spam_reasons("また別の意見です", history=history, now=NOW, author=1)
    assert "flood" not in spam_reasons("また別の意見です", history=history[:4], now=NOW, author=1)


def test_burst_across_authors():
    recent = [Post("この計画に反対します。撤回を求めます。", ago(i), i + 10) for i in range(3)]
    reasons = spam_reasons(
        "この計画に反対します。撤回を求めます。", recent=recent, now=NOW, author=1
    )
    assert reasons == ["burst"]
    assert spam_reasons("賛成です", recent=recent, now=NOW, author=1) == []


def test_too_many_links():
    text = " ".join(f"https://spam{i}.example.com/" for i in range(4))
    assert spam_reasons(text) == ["too_many_links"]
    assert spam_reasons(text, policy=SpamPolicy(max_links=5)) == []


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="公園の遊具をあいうabc ", min_size=0, max_size=30),
    st.lists(st.text(alphabet="公園の遊具をあいうabc ", min_size=0, max_size=30), max_size=8),
    st.sampled_from([0.3, 0.5, 0.9, 1.0]),
)
def test_comparing_with_many_posts_at_once_is_the_same_as_one_by_one(text, others, threshold):
    own = _shingles(text)
    one_by_one = [_jaccard(own, _shingles(o)) >= threshold for o in others]
    assert list(_similar(own, others, threshold)) == one_by_one
