"""``moderation.scan`` and ``moderation.mask``: verdicts, masking, spans, hostile input."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moderation
from moderation import Kind, Post

BLNS = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "naughty-strings" / "blns.json"
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "decision", "codes"),
    [
        ("公園のベンチを増やしてください。", "publish", ()),
        ("Please add more benches to the park.", "publish", ()),
        ("私のマイナンバーは1234 5678 9018です", "reject", ("my_number",)),
        ("カードは4111 1111 1111 1111です", "reject", ("card",)),
        ("連絡先は090-1234-5678です", "hold", ("personal_data",)),
        ("お前なんか死ね", "reject", ("blocked_word",)),
        ("担当者はバカだと思う", "hold", ("blocked_word_review",)),
        ("電話 03-1234-5678、お前はバカ", "hold", ("personal_data", "blocked_word_review")),
    ],
)
def test_verdicts(text, decision, codes):
    result = moderation.scan(text)
    assert result.verdict == decision
    assert result.verdict.codes == codes


def test_reject_messages_in_both_languages():
    verdict = moderation.scan("個人番号 123456789018").verdict
    assert "マイナンバー" in verdict.message("ja")
    assert "My Number" in verdict.message("en")


def test_spam_verdicts():
    history = [Post("図書館の開館時間を延ばしてください", NOW - timedelta(minutes=5), 1)]
    result = moderation.scan(
        "図書館の開館時間を延ばしてください", history=history, author=1, now=NOW
    )
    assert result.verdict == "reject" and result.verdict.codes == ("duplicate",)
    links = " ".join(f"https://x{i}.example.com" for i in range(5))
    assert moderation.scan(links).verdict.codes == ("too_many_links",)


def test_staff_word_list_replaces_the_seed():
    words = moderation.WordList([moderation.Entry("ないしょ", "reject")])
    assert moderation.scan("ないしょの話", words=words).verdict == "reject"
    assert moderation.scan("バカ", words=words).verdict == "publish"


def test_mask_keeps_everything_else():
    text = (
        "〒123-4567 声区中央1-2-3 に住む田中です。電話０９０－１２３４－５６７８、taro@example.jp"
    )
    masked = moderation.mask(text)
    assert "090" not in masked and "０９０" not in masked and "taro@" not in masked
    assert masked.startswith("［郵便番号］")
    assert "に住む田中です。電話［電話番号］、［メールアドレス］" in masked


def test_a_my_number_never_reaches_the_findings_detail():
    result = moderation.scan("マイナンバー：1234-5678-9018")
    finding = result.of_kind(Kind.MY_NUMBER)[0]
    assert "1234" not in finding.detail and "9018" not in finding.detail
    assert "9018" not in repr(result.verdict)


pieces = st.sampled_from(
    [
        "090-1234-5678", "03(1234)5678", "taro@example.jp", "〒123-4567",
        "東京都声区中央1丁目2番3号",
        "1234 5678 9018", "4111-1111-1111-1111", "バカ", "死ね", "https://koe.example.jp",
        "［電話番号］", "。", " ", "\\n", "ｱｲｳ", "１２３", "-", "@",
    ]
)  # fmt: skip
texts = st.lists(st.one_of(pieces, st.text(max_size=20)), max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(texts)
def test_masking_is_idempotent(text):
    once = moderation.mask(text)
    assert moderation.mask(once) == once


@settings(max_examples=400, deadline=None)
@given(st.one_of(texts, st.text()))
def test_spans_point_into_the_original_text(text):
    result = moderation.scan(text)
    for finding in result.findings:
        assert 0 <= finding.start < finding.end <= len(text)
    personal = [f for f in result.findings if f.kind != Kind.BLOCKED_WORD]
    for a, b in itertools.pairwise(personal):
        assert a.end <= b.start


def test_every_naughty_string_through_scan_and_mask():
    strings = json.loads(BLNS.read_text(encoding="utf-8"))
    for text in strings:
        result = moderation.scan(text)
        assert result.verdict.decision in {"publish", "hold", "reject"}
        moderation.mask(text, result.findings)
        moderation.linkify_text(text)
        moderation.sanitize_html(text)


@pytest.mark.parametrize(
    "text",
    [
        "1-" * 500_000,
        "0" * 1_000_000,
        "a@" * 300_000,
        "丁目" * 300_000,
        "1 " * 500_000,
        "ばか" * 300_000,
        "https://a.jp/ " * 50_000,
        "０１２３４５６７８９－" * 50_000,
    ],
    ids=[
        "digits-hyphens",
        "zeros",
        "at-signs",
        "chome",
        "digits-spaces",
        "words",
        "links",
        "fullwidth",
    ],
)
def test_huge_hostile_texts_finish(text):
    """No timing assertion (bench/ measures it): the scan returns at all, with a verdict."""
    assert moderation.scan(text).verdict.decision in {"publish", "hold", "reject"}


def test_blocked_words_in_context_precision_and_recall():
    """Threats are refused and insults held however spelled (recall), while pest control and
    civil criticism of a plan are published (precision): the corpus a ward met."""
    from tests.moderation.word_corpus import ABUSE, CIVIL, INSULTS

    for text in ABUSE:
        assert moderation.scan(text).verdict == "reject", text
    for text in INSULTS:
        assert moderation.scan(text).verdict == "hold", text
    for text in CIVIL:
        result = moderation.scan(text)
        assert result.verdict == "publish" and not result.findings, text


def test_two_links_are_held_and_one_is_published():
    one = "資料は https://www.city.example.jp/plan にあります。"
    assert moderation.scan(one).verdict == "publish"
    two = "賛成です。https://example.com/a と https://example.com/b を見てください"
    assert moderation.scan(two).verdict.codes == ("too_many_links",)
