"""Spam and flood checks against the author's and everyone's recent posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation import Post, SpamPolicy
from moderation.spam import _jaccard, _shingles, _similar, count_links, similarity, spam_reasons

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


# --- the near-duplicate index (band_keys) ---------------------------------------------------


def _voices() -> list[str]:
    from tests.analytics.test_quality import rows

    texts, _ = rows("resident-voices/voices.tsv", "\t")
    return texts


def _edited(text: str, seed: int) -> str:
    """A repeat with a small edit: a character changed, added or dropped, punctuation."""
    import random

    chance = random.Random(seed)
    where = chance.randrange(len(text))
    edit = chance.choice(["change", "add", "drop", "end"])
    if edit == "change":
        return text[:where] + "ー" + text[where + 1 :]
    if edit == "add":
        return text[:where] + "、" + text[where:]
    if edit == "drop":
        return text[:where] + text[where + 1 :]
    return text + "！"


def test_band_keys_find_repeats_and_rarely_unrelated_texts():
    """Real residents' texts: a repeat (similarity at least 0.9) shares a key with the original
    practically always; two different opinions rarely do."""
    from moderation import band_keys

    texts = _voices()
    repeats = 0
    found = 0
    for n, text in enumerate(texts * 3):
        copy = _edited(text, n) * 2 if len(text) < 20 else _edited(text, n)
        if similarity(copy, text * 2 if len(text) < 20 else text) >= 0.9:
            repeats += 1
            original = band_keys(text * 2 if len(text) < 20 else text)
            found += bool(set(band_keys(copy)) & set(original))
    assert repeats > 300 and found / repeats >= 0.99, (found, repeats)
    keys = [set(band_keys(t)) for t in texts]
    pairs = shared = 0
    for a in range(0, len(texts), 3):
        for b in range(a + 1, len(texts), 7):
            if similarity(texts[a], texts[b]) < 0.5:
                pairs += 1
                shared += bool(keys[a] & keys[b])
    assert pairs > 3000 and shared / pairs < 0.02, (shared, pairs)
    assert band_keys("同じ文") == band_keys("同じ文") and len(band_keys("")) == 8
    assert all(-(2**63) <= key < 2**63 for key in band_keys("a"))


def test_band_keys_are_the_same_in_every_process():
    """They are stored and compared by other processes: not Python's per-process hash()."""
    import os
    import subprocess
    import sys

    from moderation import band_keys

    code = "from moderation import band_keys; print(list(band_keys('公園のベンチを増やして')))"
    for seed in ("1", "2"):
        printed = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert printed.strip() == str(list(band_keys("公園のベンチを増やして")))


def test_a_burst_is_found_among_the_posts_that_share_a_key():
    """The narrowed list (the posts sharing a key, as the app reads it) gives the burst
    verdict the whole list gives: a campaign (three people, the same text) among 400 real
    opinions."""
    from moderation import band_keys

    texts = _voices()
    recent = [Post(text, ago(n % 9), 100 + n) for n, text in enumerate(texts)]
    campaign = "駅前の再開発には反対です。緑と商店街を残してください。"
    copies = [campaign, campaign + "！", campaign]
    recent += [Post(copy, ago(1), 10 + n) for n, copy in enumerate(copies)]
    index: dict[int, list[Post]] = {}
    for post in recent:
        for key in band_keys(post.text):
            index.setdefault(key, []).append(post)
    for text in [campaign, campaign + "！", _edited(campaign, 99), *texts[:60]]:
        near = {id(p): p for key in band_keys(text) for p in index.get(key, [])}
        narrowed = spam_reasons(text, recent=list(near.values()), now=NOW, author=1)
        assert narrowed == spam_reasons(text, recent=recent, now=NOW, author=1)
        assert len(near) < 40  # a handful, not the 403
    assert "burst" in spam_reasons(campaign, recent=recent, now=NOW, author=1)


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("詳しくはexample.com/aとexample.com/bへ", 2),  # bare domains, as spam writes them
        ("ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ と https://a.jp", 2),  # full-width too
        ("example.co.jp と www.city.jp", 2),
        ("連絡は a@example.com へ。e.g. 2.5 Ver.3", 0),  # an e-mail address is no link
    ],
)
def test_links_are_counted_however_written(text, links):
    assert count_links(text) == links
    assert ("too_many_links" in spam_reasons(text)) is (links >= 2)
